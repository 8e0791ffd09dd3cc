/**
 * Strand's side of the expression sandbox, synchronous so that `Evaluator.evaluate` stays so:
 *
 *   Strand's thread --(MessagePort + Atomics.wait)--> relay worker thread (sandbox-relay.ts)
 *       --(stdin/stdout, one JSON a line)--> child process (sandbox-child.ts): fresh vm context per evaluation
 *
 * Expressions run in the child, never in Strand's process: a crash there (V8 aborting a process
 * out of heap, which a worker thread cannot contain) ends only the child. The relay runs no
 * expression; it kills a child past the time limit and reports one that died. Strand's thread
 * blocks in Atomics.wait until the relay answers; if even the relay did not answer in time (it
 * cannot hang: it only passes messages), it is replaced too.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { sandboxChildMain } from './sandbox-child.js';
import { STATE, type RelayData, type SandboxReply, type SandboxRequest } from './sandbox-protocol.js';
import { sandboxRelayMain } from './sandbox-relay.js';

/** Past the time limit, how long the child has to answer before the relay kills it. */
const GRACE_MS = 1000;
/** How long the relay and a new child may take to start, beyond the time limit (a busy machine). */
const START_MS = 60_000;

export type SandboxOutcome = { ok: true; json: string } | { ok: false; reason: 'error'; message: string } | { ok: false; reason: 'timeout' | 'memory' | 'start' };

interface Relay {
  worker: Worker;
  port: MessagePort;
  state: Int32Array;
  /** expressionLib ids this relay has been given (it keeps them for its children). */
  libsSent: Set<number>;
}

let relay: Relay | undefined;
let nextId = 1;

function startRelay(memoryMb: number): Relay {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  const workerData: RelayData = { state, port: port2, childSource: sandboxChildMain.toString(), graceMs: GRACE_MS, memoryMb };
  // execArgv: none of Strand's own (e.g. --input-type=module would make this script a module).
  const worker = new Worker(`(${sandboxRelayMain.toString()})()`, { eval: true, workerData, transferList: [port2], execArgv: [] });
  worker.on('error', () => {}); // seen by the caller's clock; nothing here may throw
  worker.unref();
  port1.unref();
  return { worker, port: port1, state, libsSent: new Set() };
}

function stopRelay(r: Relay): void {
  if (relay === r) relay = undefined;
  r.port.close();
  void r.worker.terminate().catch(() => {});
}

/** Start the sandbox (relay and child) without waiting, so that it is ready when the first expression comes. */
export function prestartSandbox(memoryMb: number): void {
  relay ??= startRelay(memoryMb);
}

/** Wait while state[index] is `value`, until `deadline`; false if the deadline came first. */
function waitWhile(state: Int32Array, index: number, value: number, deadline: number): boolean {
  for (;;) {
    if (Atomics.load(state, index) !== value) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    Atomics.wait(state, index, value, left);
  }
}

/** Evaluate one expression in the sandbox; blocks the calling thread until it is done. */
export function runInSandbox(
  req: { libId: number; lib: string[]; kind: 'paren' | 'brace'; code: string; data: string },
  limits: { timeoutMs: number; memoryMb: number },
): SandboxOutcome {
  const r = (relay ??= startRelay(limits.memoryMb));
  if (!waitWhile(r.state, 1, 0, Date.now() + START_MS)) {
    stopRelay(r);
    return { ok: false, reason: 'start' };
  }
  const id = nextId++;
  const { lib, ...rest } = req;
  const message: SandboxRequest = { id, ...rest, ...(r.libsSent.has(req.libId) ? {} : { lib }), timeoutMs: limits.timeoutMs, memoryMb: limits.memoryMb };
  r.libsSent.add(req.libId);
  Atomics.store(r.state, 0, STATE.posted);
  r.port.postMessage(message);
  if (!waitWhile(r.state, 0, STATE.posted, Date.now() + limits.timeoutMs + GRACE_MS + START_MS)) {
    stopRelay(r);
    return { ok: false, reason: 'timeout' };
  }
  for (;;) {
    const got = receiveMessageOnPort(r.port)?.message as SandboxReply | undefined;
    if (!got) {
      stopRelay(r);
      return { ok: false, reason: 'error', message: 'the expression sandbox gave no answer' };
    }
    if (got.id !== id) continue;
    return got.ok ? { ok: true, json: got.json } : got.reason === 'error' ? { ok: false, reason: 'error', message: got.message } : { ok: false, reason: got.reason };
  }
}
