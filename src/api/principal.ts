/**
 * Who asks the run service for something: a user, their groups, and the namespace their runs go
 * to on a cluster. The CLI asks as the local user (`localPrincipal`); a server asks as whoever its
 * request's token names. A run records its owner's user name; what a principal may see of runs is
 * the run service's policy (run-service.ts).
 */
import os from 'node:os';

export interface Principal {
  /** The user name a run records as its owner. */
  readonly user: string;
  readonly groups: readonly string[];
  /** Where this principal's runs go on a cluster, when the service decides that (a lab server). */
  readonly namespace?: string;
}

/** The name of the user running this process ($USER when the system cannot say). */
export function localUserName(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER;
  }
}

/** The user running this process, as the CLI asks. */
export function localPrincipal(): Principal {
  return { user: localUserName() || 'unknown', groups: [] };
}

/**
 * Which recorded runs a principal sees: `store`, every run of the store it opened (on one machine
 * the store's file modes are the access control: the CLI and the local dashboard); `owner`, only
 * the runs it owns (a server shared by several users: another's run is as absent as one that
 * never was).
 */
export type Visibility = 'store' | 'owner';

export function maySee(visibility: Visibility, p: Principal, owner: string | undefined): boolean {
  return visibility === 'store' || (owner !== undefined && owner === p.user);
}
