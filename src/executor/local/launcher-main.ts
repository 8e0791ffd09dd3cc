/**
 * The process launcher: a small Node process that starts task processes for a Strand process.
 * fork() costs in proportion to the parent's memory, so a 100 MB engine pays about twice what this
 * process pays per task, on the engine's event loop. Started by launcher.ts with an IPC channel;
 * messages are `{ id, req }` (start), `{ id, req, after }` (start once task `after`'s process has
 * exited), `{ id, cancel: true }`; replies are `{ id, event }`.
 *
 * It runs in its own session, so Ctrl-C at the terminal reaches only Strand, which decides what to
 * stop. When Strand goes away (even by SIGKILL) the channel closes and every task still running is
 * killed with its process group, and its cleanup command run (a container's removal): nothing is
 * left behind. Tasks whose start is still under way never start: the process exits first.
 */
import { startProcess, type LaunchEvent, type LaunchHandle, type LaunchRequest } from './process-start.js';
import { killOrphan } from './process-group.js';

type Start = { id: number; req: LaunchRequest; after?: number };
type Message = Start | { id: number; cancel: true };

const handles = new Map<number, LaunchHandle>();
const running = new Map<number, { pid: number; cleanup?: string[] }>();
/** Tasks whose process has not gone yet (starting or running). */
const live = new Set<number>();
/**
 * A task that takes another's place the moment that one's process exits (`after`), with no round
 * trip to Strand: the one waiting for each live task (local-executor.ts decides which).
 */
const standby = new Map<number, Start>();

function send(id: number, req: LaunchRequest, event: LaunchEvent): void {
  if (event.type === 'started') running.set(id, { pid: event.pid, cleanup: req.cleanup });
  else {
    running.delete(id);
    handles.delete(id);
  }
  if (process.connected) process.send?.({ id, event });
}

function start(m: Start): void {
  live.add(m.id);
  handles.set(
    m.id,
    startProcess(m.req, (e) => send(m.id, m.req, e), () => {
      live.delete(m.id);
      const next = standby.get(m.id);
      if (next) {
        standby.delete(m.id);
        start(next);
      }
    }),
  );
}

process.on('message', (m: Message) => {
  if ('req' in m) {
    if (m.after !== undefined && live.has(m.after)) standby.set(m.after, m);
    else start(m);
    return;
  }
  for (const [after, s] of standby) {
    if (s.id !== m.id) continue;
    standby.delete(after);
    send(s.id, s.req, { type: 'failed', message: 'cancelled before it started', cancelled: true });
    return;
  }
  handles.get(m.id)?.cancel();
});

/** Strand is gone: kill what it left running (and nothing will start now), then end. */
function ownerGone(): void {
  for (const { pid, cleanup } of running.values()) killOrphan(pid, cleanup);
  running.clear();
  // This file is a program of its own, like src/cli: it ends when its parent is gone.
  // eslint-disable-next-line no-restricted-syntax
  process.exit(0);
}

process.on('disconnect', ownerGone);
// A reply sent as Strand dies fails with EPIPE, emitted here: without a listener it would crash
// this process before 'disconnect' and leave the tasks running.
process.on('error', ownerGone);
process.on('uncaughtException', ownerGone);
// And should the channel's end go unnoticed (seen once under load), the parent's exit does not:
// this process is re-parented then.
const owner = process.ppid;
setInterval(() => {
  if (process.ppid !== owner) ownerGone();
}, 500).unref();
