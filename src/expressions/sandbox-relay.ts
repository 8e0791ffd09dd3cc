/**
 * The program of the expression sandbox's relay: a worker thread in Strand's process (started by
 * sandbox-host.ts from this function's text; it must not use anything from this module's scope)
 * that runs no expression itself. It keeps the child process (sandbox-child.ts) that does, passes
 * each request to it and its reply back, and is the hard wall clock: a child that has not answered
 * by the time limit plus a grace is killed (SIGKILL), one that dies (V8's heap limit aborts it) is
 * reported; either way the next request starts a new child.
 *
 * Strand's thread waits in Atomics.wait: a reply goes on the MessagePort first, then state[0]
 * becomes STATE.answered and is notified.
 */
import type { RelayData, SandboxReply, SandboxRequest } from './sandbox-protocol.js';

/* eslint-disable @typescript-eslint/no-require-imports -- runs as an eval'd worker script, where require is the loader */
export function sandboxRelayMain(): void {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const { createInterface } = require('node:readline') as typeof import('node:readline');
  const { workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { state, port, childSource, graceMs, memoryMb: firstMemoryMb } = workerData as RelayData;
  const ANSWERED = 2;
  /** How long a new child may take to start (a busy machine); not counted in the time limit. */
  const START_MS = 60_000;

  interface Child {
    proc: import('node:child_process').ChildProcess;
    memoryMb: number;
    libsSent: Set<number>;
    /** The request it is working on, and how to end it. */
    pending?: { id: number; timer: NodeJS.Timeout; reply: (r: SandboxReply) => void };
    /** False until the child says it listens; `queued` waits for that. */
    ready: boolean;
    queued?: SandboxRequest;
    stderr: string;
  }
  let child: Child | undefined;
  const libs = new Map<number, string[]>();

  const answer = (reply: SandboxReply): void => {
    port.postMessage(reply);
    Atomics.store(state, 0, ANSWERED);
    Atomics.notify(state, 0);
  };

  const start = (memoryMb: number): Child => {
    const proc = spawn(process.execPath, [`--max-old-space-size=${memoryMb}`, '-e', `(${childSource})()`], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {},
    });
    const c: Child = { proc, memoryMb, libsSent: new Set(), ready: false, stderr: '' };
    proc.stderr?.on('data', (d: Buffer) => {
      c.stderr = (c.stderr + d.toString()).slice(-4000);
    });
    proc.stdin?.on('error', () => {}); // a dead child's pipe; its exit says what happened
    createInterface({ input: proc.stdout as NodeJS.ReadableStream, crlfDelay: Infinity }).on('line', (line) => {
      let reply: SandboxReply | { ready: true };
      try {
        reply = JSON.parse(line) as SandboxReply | { ready: true };
      } catch {
        return; // not ours (the child writes only replies); a request without one ends on the clock
      }
      if ('ready' in reply) {
        c.ready = true;
        const q = c.queued;
        c.queued = undefined;
        if (q && c.pending?.id === q.id) {
          clearTimeout(c.pending.timer);
          send(c, q);
        }
        return;
      }
      if (c.pending?.id !== reply.id) return;
      clearTimeout(c.pending.timer);
      const p = c.pending;
      c.pending = undefined;
      p.reply(reply);
    });
    proc.on('exit', (code, signal) => {
      if (child === c) child = undefined;
      const p = c.pending;
      if (!p) return;
      c.pending = undefined;
      clearTimeout(p.timer);
      // V8 aborts a process out of heap (SIGABRT, "heap out of memory" on stderr).
      const oom = signal === 'SIGABRT' || /out of memory/i.test(c.stderr);
      p.reply(
        oom
          ? { id: p.id, ok: false, reason: 'memory' }
          : { id: p.id, ok: false, reason: 'error', message: `the expression's process ended (${signal ?? `exit code ${code}`})` },
      );
    });
    proc.on('error', () => {}); // could not start: its exit follows
    return c;
  };

  const send = (c: Child, req: SandboxRequest): void => {
    const timer = setTimeout(() => {
      // The hard wall clock: whatever the child is doing, it stops now.
      c.pending = undefined;
      if (child === c) child = undefined;
      c.proc.kill('SIGKILL');
      answer({ id: req.id, ok: false, reason: 'timeout' });
    }, req.timeoutMs + graceMs);
    c.pending = { id: req.id, timer, reply: answer };
    // The host sends a library once; a child gets it with its first request that uses it.
    if (req.lib) libs.set(req.libId, req.lib);
    if (c.libsSent.has(req.libId)) delete req.lib;
    else req.lib = libs.get(req.libId) ?? [];
    c.libsSent.add(req.libId);
    c.proc.stdin?.write(JSON.stringify(req) + '\n');
  };

  port.on('message', (req: SandboxRequest) => {
    if (child && child.memoryMb !== req.memoryMb) {
      child.proc.kill('SIGKILL');
      child = undefined;
    }
    const c = (child ??= start(req.memoryMb));
    if (c.ready) send(c, req);
    else {
      // Starting a process is not the expression's time: the clock starts once the child listens.
      const timer = setTimeout(() => {
        c.pending = undefined;
        if (child === c) child = undefined;
        c.proc.kill('SIGKILL');
        answer({ id: req.id, ok: false, reason: 'start' });
      }, START_MS);
      c.pending = { id: req.id, timer, reply: answer };
      c.queued = req;
    }
  });
  // The first child starts now, while Strand is still planning: its first expression does not wait for it.
  child = start(firstMemoryMb);
  Atomics.store(state, 1, 1);
  Atomics.notify(state, 1);
}
/* eslint-enable @typescript-eslint/no-require-imports */
