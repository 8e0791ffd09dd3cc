/**
 * The program of the expression sandbox's child process (a `node -e` of this function's text,
 * started by sandbox-relay.ts; it must not use anything from this module's scope). Each request
 * runs in a NEW node:vm context: nothing an expression leaves behind (a global, a changed
 * prototype) reaches the next.
 *
 * A request: the data as JSON, the expressionLib, the code and the time left. In the context, a
 * bootstrap that runs before any user code keeps the intrinsics it needs (JSON.parse/stringify),
 * so a library that replaces them cannot change how values come in or go out. The result leaves
 * the context as one string made inside it, under the time limit (toJSON, getters and promise jobs
 * included: microtaskMode 'afterEvaluate'); this program never touches an object from it.
 *
 * Requests come on stdin and replies go on stdout, one JSON a line. The process's V8 heap limit is
 * the memory cap (--max-old-space-size); what crashes it, crashes only it.
 */
import type { SandboxReply, SandboxRequest } from './sandbox-protocol.js';

/* eslint-disable @typescript-eslint/no-require-imports -- runs as a `node -e` script, where require is the loader */
export function sandboxChildMain(): void {
  const vm = require('node:vm') as typeof import('node:vm');
  const { isProxy } = (require('node:util') as typeof import('node:util')).types;
  const { createInterface } = require('node:readline') as typeof import('node:readline');

  // An expression's unhandled promise rejection or stray error stays here: it must not end the child.
  process.on('unhandledRejection', () => {});
  process.on('uncaughtException', () => {});
  // Ctrl-C reaches the whole process group; Strand decides what stops, and this ends with its stdin.
  process.on('SIGINT', () => {});

  let importAttempted = false;
  const refuseImport = (): never => {
    importAttempted = true;
    throw new Error('import() is not available in CWL expressions');
  };
  const compile = (code: string, filename: string) => new vm.Script(code, { filename, importModuleDynamically: refuseImport as never });

  // Runs first in every context. Keeps the intrinsics it uses; removes what could run code later,
  // outside any evaluation (finalizers, Atomics.waitAsync) and what CWL has no use for (WebAssembly).
  // Binary data (ArrayBuffer, typed arrays) lives outside V8's heap and its limit, and filling it
  // cannot be interrupted: its constructors are replaced by ones that charge each allocation to the
  // evaluation's budget (the memory cap), and refuse one that would exceed it.
  const bootstrap = compile(
    `(function (g) {
      'use strict';
      var parse = JSON.parse, stringify = JSON.stringify, S = String, P = Promise, N = Number;
      var construct = Reflect.construct, apply = Reflect.apply, from = Array.from;
      var define = Object.defineProperty, own = Reflect.ownKeys, descriptor = Object.getOwnPropertyDescriptor;
      var setProto = Object.setPrototypeOf, getProto = Object.getPrototypeOf, freeze = Object.freeze;
      delete g.FinalizationRegistry; delete g.WebAssembly;
      if (g.Atomics) delete g.Atomics.waitAsync;

      var budget = { left: 0, mb: 0 };
      var charge = function (bytes) {
        var n = N(bytes);
        if (!(n <= budget.left)) {
          if (n !== n || n < 0) return; // not a size: the original constructor says what is wrong
          throw new RangeError('the expression would hold more than ' + budget.mb + ' MB of binary data (the memory limit)');
        }
        budget.left -= n;
      };
      var byteLength = descriptor(ArrayBuffer.prototype, 'byteLength').get;
      var sharedByteLength = g.SharedArrayBuffer ? descriptor(SharedArrayBuffer.prototype, 'byteLength').get : undefined;
      var typedLength = descriptor(getProto(Uint8Array.prototype), 'length').get;
      var is = function (getter, v) { if (!getter) return false; try { apply(getter, v, []); return true; } catch (_) { return false; } };
      var wrap = function (name, check) {
        var Orig = g[name];
        if (!Orig) return;
        var W = function () {
          if (new.target === undefined) throw new TypeError("Constructor " + name + " requires 'new'");
          var args = check(arguments);
          return construct(Orig, args, new.target);
        };
        setProto(W, getProto(Orig));
        W.prototype = Orig.prototype;
        own(Orig).forEach(function (k) { if (k !== 'prototype' && k !== 'arguments' && k !== 'caller') define(W, k, descriptor(Orig, k)); });
        define(Orig.prototype, 'constructor', { value: W, writable: true, configurable: true, enumerable: false });
        g[name] = W;
      };
      ['ArrayBuffer', 'SharedArrayBuffer'].forEach(function (name) {
        wrap(name, function (a) {
          // Sizes are read once, so what is charged is what is allocated.
          var len = a[0] === undefined ? 0 : N(a[0]);
          var opts = a[1];
          var max = opts !== null && typeof opts === 'object' ? opts.maxByteLength : undefined;
          if (max !== undefined) max = N(max);
          charge(max !== undefined ? max : len);
          return max !== undefined ? [len, { maxByteLength: max }] : [len];
        });
      });
      ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
       'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'].forEach(function (name) {
        var size = g[name] && g[name].BYTES_PER_ELEMENT;
        wrap(name, function (a) {
          var x = a[0];
          if (x === null || (typeof x !== 'object' && typeof x !== 'function')) { charge(x === undefined ? 0 : N(x) * size); return [x]; }
          if (is(byteLength, x) || is(sharedByteLength, x)) return [x, a[1], a[2]]; // a view: no new memory
          if (is(typedLength, x)) { charge(apply(typedLength, x, []) * size); return [x]; }
          var list = from(x); // an array-like or iterable, read once
          charge(list.length * size);
          return [list];
        });
      });
      // Later V8s: transfer() makes a new buffer of the size asked.
      ['transfer', 'transferToFixedLength'].forEach(function (m) {
        var f = ArrayBuffer.prototype[m];
        if (typeof f !== 'function') return;
        define(ArrayBuffer.prototype, m, { writable: true, configurable: true, value: function (n) {
          var len = n === undefined ? apply(byteLength, this, []) : N(n);
          charge(len);
          return apply(f, this, [len]);
        } });
      });

      var describe = function (e) {
        try { return S(e !== null && typeof e === 'object' && 'message' in e ? e.message : e); }
        catch (_) { return 'an error that cannot be shown'; }
      };
      var api = {
        load: function () {
          var d = parse(g.__strandData);
          budget.mb = g.__strandMemoryMb; budget.left = budget.mb * 1048576;
          delete g.__strandData; delete g.__strandMemoryMb;
          g.inputs = d.inputs; g.self = d.self; g.runtime = d.runtime;
        },
        run: function (fn) {
          try {
            var r = fn();
            if (r instanceof P) return 'ethe expression returned a Promise: CWL expressions must give their value directly';
            var s = r === undefined ? undefined : stringify(r);
            return 'v' + (s === undefined ? 'null' : s);
          } catch (e) { return 'e' + describe(e); }
        },
        describe: function () { var e = g.__strandError; delete g.__strandError; return describe(e); },
      };
      define(g, '__strand', { value: freeze(api) });
    })(this)`,
    'strand-bootstrap',
  );
  const load = compile('__strand.load()', 'strand-load');
  const describeError = compile('__strand.describe()', 'strand-error');

  const fresh = (): import('node:vm').Context => {
    const ctx = vm.createContext(Object.create(null) as object, {
      name: 'cwl-expression',
      codeGeneration: { strings: true, wasm: false },
      microtaskMode: 'afterEvaluate',
    });
    bootstrap.runInContext(ctx);
    return ctx;
  };
  // Contexts made ahead while the child is idle (making one is most of an evaluation's cost), so a
  // burst of evaluations (one task's command line) does not wait for them.
  const POOL = 8;
  const warm: import('node:vm').Context[] = [];
  let filling = false;
  const fill = (): void => {
    if (filling) return;
    filling = true;
    const step = (): void => {
      if (warm.length >= POOL) {
        filling = false;
        return;
      }
      warm.push(fresh());
      setImmediate(step); // one at a time: a request that comes in is served first
    };
    setImmediate(step);
  };

  const libs = new Map<number, import('node:vm').Script[]>();
  const scripts = new Map<string, import('node:vm').Script>();
  const scriptFor = (kind: 'paren' | 'brace', code: string): import('node:vm').Script => {
    const key = `${kind}\u0000${code}`;
    let s = scripts.get(key);
    if (!s) {
      const body = kind === 'paren' ? `return (${code}\n);` : code;
      s = compile(`__strand.run(function(){ ${body}\n })`, 'cwl-expression');
      if (scripts.size > 10_000) scripts.clear();
      scripts.set(key, s);
    }
    return s;
  };

  class Timeout extends Error {}
  // An error of this realm (a timeout, a syntax error), told apart without running the context's
  // code: a proxy's traps or a prototype chain made there would.
  const ours = (e: unknown): e is Error & { code?: unknown } => {
    if (typeof e !== 'object' || e === null || isProxy(e)) return false;
    const proto: unknown = Object.getPrototypeOf(e);
    if (proto === Error.prototype || proto === SyntaxError.prototype || proto === Timeout.prototype || proto === RangeError.prototype) return true;
    // Node's own errors (ERR_SCRIPT_EXECUTION_TIMEOUT is a NodeError) are one subclass below this realm's Error.
    if (typeof proto !== 'object' || proto === null || isProxy(proto)) return false;
    return Object.getPrototypeOf(proto) === Error.prototype;
  };

  const evaluate = (req: SandboxRequest): SandboxReply => {
    const deadline = Date.now() + req.timeoutMs;
    const left = (): number => {
      const ms = deadline - Date.now();
      if (ms <= 0) throw new Timeout();
      return ms;
    };
    importAttempted = false;
    const ctx = warm.pop() ?? fresh();
    // Runs a script of ours or the user's in the context, within the time left.
    const run = (script: import('node:vm').Script): unknown => {
      try {
        return script.runInContext(ctx, { timeout: left() });
      } catch (err) {
        // Whatever ended the script once its time is up is the time limit (a timeout that lands while
        // V8 drains the context's microtasks can surface as the context's own error).
        if (Date.now() >= deadline) throw new Timeout();
        if (ours(err)) throw err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' ? new Timeout() : err;
        // The context's: made into text inside it, under the limit.
        (ctx as Record<string, unknown>).__strandError = err;
        const text = describeError.runInContext(ctx, { timeout: left() });
        throw new Error(typeof text === 'string' ? text : 'an error that cannot be shown');
      }
    };
    try {
      (ctx as Record<string, unknown>).__strandData = req.data;
      (ctx as Record<string, unknown>).__strandMemoryMb = req.memoryMb;
      load.runInContext(ctx); // our code only, before any of the user's: no timeout needed
      if (req.lib) libs.set(req.libId, req.lib.map((l) => compile(l, 'expressionLib')));
      for (const lib of libs.get(req.libId) ?? []) run(lib);
      const out = run(scriptFor(req.kind, req.code));
      // (Node may ask for the module only after the script: then its promise is just refused.)
      if (importAttempted) return { id: req.id, ok: false, reason: 'error', message: 'import() is not available in CWL expressions' };
      if (typeof out !== 'string') return { id: req.id, ok: false, reason: 'error', message: 'the expression broke out of its function' };
      if (out.startsWith('v')) return { id: req.id, ok: true, json: out.slice(1) };
      // An error caught in the context once the time is up is the time limit ending the script.
      if (Date.now() >= deadline) return { id: req.id, ok: false, reason: 'timeout' };
      return { id: req.id, ok: false, reason: 'error', message: out.slice(1) };
    } catch (err) {
      if (err instanceof Timeout || Date.now() >= deadline) return { id: req.id, ok: false, reason: 'timeout' };
      return { id: req.id, ok: false, reason: 'error', message: ours(err) ? err.message : 'an error that cannot be shown' };
    }
  };

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const reply = evaluate(JSON.parse(line) as SandboxRequest);
    process.stdout.write(JSON.stringify(reply) + '\n');
    fill();
  });
  // Strand has gone (or dropped this child): nothing more will come.
  // eslint-disable-next-line no-restricted-syntax -- this is the child's own process, not Strand's
  lines.on('close', () => process.exit(0));
  warm.push(fresh());
  fill();
  process.stdout.write('{"ready":true}\n');
}
/* eslint-enable @typescript-eslint/no-require-imports */
