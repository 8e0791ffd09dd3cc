/**
 * How a run service that serves several people reaches the cluster for one of them (a lab
 * server): the member's namespace, and a Kubernetes client that acts there with the member's
 * rights, never the server's own (src/server/members/). The in-process service and the CLI do
 * not use this: they act as whoever runs them, with their own kubeconfig.
 */
import type { KubeApi } from '../cluster/kube-api.js';
import type { Principal } from './principal.js';

/** A member's place on the cluster: where their runs go, and a client acting for them there. */
export interface MemberCluster {
  readonly namespace: string;
  readonly api: KubeApi;
}

export interface MemberAccess {
  /**
   * The member's namespace, made ready if this is their first request, and a client for it.
   * Rejects (a UsageError naming why) when the principal may not have one.
   */
  forMember(p: Principal): Promise<MemberCluster>;
}
