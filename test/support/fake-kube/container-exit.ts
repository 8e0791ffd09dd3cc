/** How an ended container is reported, as a 1.20 kubelet does: shared by the one-container and the multi-container runners. */
import type { ChildProcess } from 'node:child_process';
import type { ContainerState } from './types.js';

export const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

export interface ContainerExit {
  code?: number | null;
  signal?: NodeJS.Signals | null;
  startError?: string;
}

/**
 * The `terminated` state of a container that ended `how`: a start error is exit 128
 * `StartError`; otherwise the exit code (128 + signal when killed), reason OOMKilled, Completed or
 * Error. `failureMessage` gives the message of a failed run (FallbackToLogsOnError), if any.
 */
export function terminatedState(
  how: ContainerExit,
  killReason: string | undefined,
  startedAt: string,
  finishedAt: string,
  containerID: string,
  failureMessage?: () => string | undefined,
): NonNullable<ContainerState['terminated']> {
  let exitCode: number;
  let reason: string;
  let message: string | undefined;
  if (how.startError !== undefined) {
    exitCode = 128;
    reason = 'StartError';
    message = how.startError;
  } else {
    exitCode = how.code ?? 128 + (SIGNALS[how.signal ?? 'SIGKILL'] ?? 9);
    reason = killReason === 'OOMKilled' ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
    if (exitCode !== 0) message = failureMessage?.();
  }
  const terminated: NonNullable<ContainerState['terminated']> = { exitCode, reason, startedAt, finishedAt, containerID };
  if (message) terminated.message = message;
  if (how.signal) terminated.signal = SIGNALS[how.signal];
  return terminated;
}

/**
 * When a container's main process exits, the kernel kills every other process in its PID
 * namespace; the fake runs a container as a process group, so it kills the rest of the group.
 * Without this a background child that outlived its shell (`sleep 30 & wait` with a TERM trap, a
 * signal that lands before the child is forked) kept the output pipes open and the container
 * "running" until it ended on its own.
 */
export function killRestOfContainerOnExit(proc: ChildProcess): void {
  proc.once('exit', () => {
    if (proc.pid === undefined) return;
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // the group is already empty
    }
  });
}
