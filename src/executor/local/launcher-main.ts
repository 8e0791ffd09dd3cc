/**
 * The process launcher: a small Node process that starts task processes for a Strand process.
 * fork() costs in proportion to the parent's memory, so a 100 MB engine pays about twice what this
 * process pays per task, on the engine's event loop. Started by launcher.ts with an IPC channel;
 * messages are `{ id, req }` (start), `{ id, cancel: true }`; replies are `{ id, event }`.
 *
 * It runs in its own session, so Ctrl-C at the terminal reaches only Strand, which decides what to
 * stop. When Strand goes away (even by SIGKILL) the channel closes and every task still running is
 * killed with its process group: nothing is left behind.
 */
import { startProcess, type LaunchEvent, type LaunchHandle, type LaunchRequest } from './process-start.js';
import { runDetached, signalGroup } from './process-group.js';

type Message = { id: number; req: LaunchRequest } | { id: number; cancel: true };

const handles = new Map<number, LaunchHandle>();
const running = new Map<number, number>(); // id -> pid
const cleanups = new Map<number, string[]>(); // id -> LaunchRequest.cleanup

function send(id: number, event: LaunchEvent): void {
  if (event.type === 'started') running.set(id, event.pid);
  else {
    cleanups.delete(id);
    running.delete(id);
    handles.delete(id);
  }
  if (process.connected) process.send?.({ id, event });
}

process.on('message', (m: Message) => {
  if ('req' in m) {
    if (m.req.cleanup) cleanups.set(m.id, m.req.cleanup);
    handles.set(m.id, startProcess(m.req, (e) => send(m.id, e)));
  }
  else handles.get(m.id)?.cancel();
});

process.on('disconnect', () => {
  for (const [id, pid] of running) {
    signalGroup(pid, 'SIGKILL');
    const cleanup = cleanups.get(id);
    if (cleanup) runDetached(cleanup);
  }
  // This file is a program of its own, like src/cli: it ends when its parent is gone.
  // eslint-disable-next-line no-restricted-syntax
  process.exit(0);
});

process.send?.({ ready: true });
