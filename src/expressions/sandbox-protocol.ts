/**
 * The messages of the expression sandbox (sandbox-host.ts -> sandbox-relay.ts -> sandbox-child.ts
 * and back). Requests and replies are JSON, one a line between the relay and the child.
 */

/** One evaluation. */
export interface SandboxRequest {
  id: number;
  /** The library's id; `lib` comes with it only the first time this child sees it. */
  libId: number;
  lib?: string[];
  kind: 'paren' | 'brace';
  code: string;
  /** `{inputs, self, runtime}` as JSON. */
  data: string;
  timeoutMs: number;
  memoryMb: number;
}

export type SandboxReply =
  | { id: number; ok: true; json: string }
  | { id: number; ok: false; reason: 'error'; message: string }
  | { id: number; ok: false; reason: 'timeout' | 'memory' | 'start' };

/** The relay worker's data: where it answers, and the child's program. */
export interface RelayData {
  /** Int32: [0] the request's state (STATE), [1] 1 once the relay listens. */
  state: Int32Array;
  port: import('node:worker_threads').MessagePort;
  childSource: string;
  /** Past the time limit, how long the child has to answer before it is killed. */
  graceMs: number;
  /** The memory limit to start the first child with, at once (requests may ask for another). */
  memoryMb: number;
}

export const STATE = { posted: 0, answered: 2 } as const;
