import { describe, expect, it } from 'vitest';
import { createEvaluator, DEFAULT_TIMEOUT_MS, pythonJson } from './index.js';
import { ExpressionError } from '../errors.js';

const ctx = {
  inputs: { x: { path: '/a/b.txt', size: 3 }, n: 4, list: [1, 2, 3], s: 'hi' },
  self: [{ path: '/z' }],
  runtime: { outdir: '/out', cores: 2 },
};

describe('parameter references (no JavaScript)', () => {
  const ev = createEvaluator({ inlineJavascript: false, expressionLib: [] });
  it('returns typed values for a lone reference', () => {
    expect(ev.evaluate('$(inputs.n)', ctx)).toBe(4);
    expect(ev.evaluate('$(inputs.x)', ctx)).toEqual({ path: '/a/b.txt', size: 3 });
    expect(ev.evaluate("$(inputs['x'].path)", ctx)).toBe('/a/b.txt');
    expect(ev.evaluate('$(self[0].path)', ctx)).toBe('/z');
    expect(ev.evaluate('$(inputs.list.length)', ctx)).toBe(3);
    expect(ev.evaluate('$(inputs.x.missing)', ctx)).toBe(null);
  });
  it('rejects a reference to an input the process does not declare, like cwltool (wf_step_access_undeclared_param)', () => {
    expect(() => ev.evaluate('$(inputs.missing)', ctx)).toThrow(ExpressionError);
    expect(() => ev.evaluate('echo $(inputs.missing)', ctx)).toThrow('$(inputs.missing): "missing" is not an input of this process (its inputs: x, n, list, s)');
  });
  it('takes the lone symbol null and escaped quotes in segments (conformance params.cwl)', () => {
    const bar = { inputs: { bar: { "b'az": true, 'b"az': null, 'b az': 2 } }, self: null, runtime: {} };
    expect(ev.evaluate('$(null)', bar)).toBe(null);
    expect(ev.evaluate("$(inputs.bar['b\\'az'])", bar)).toBe(true);
    expect(ev.evaluate('$(inputs.bar["b\\"az"])', bar)).toBe(null);
    expect(ev.evaluate("$(inputs.bar['b az']) $(inputs.bar['b\\'az'])", bar)).toBe('2 true');
    expect(() => ev.evaluate('$(nullx)', bar)).toThrow(ExpressionError);
  });
  it('interpolates into text', () => {
    expect(ev.evaluate('out=$(runtime.outdir)/$(inputs.s) n=$(inputs.n) l=$(inputs.list)', ctx)).toBe(
      'out=/out/hi n=4 l=[1, 2, 3]',
    );
  });
  it('trims text holding an expression unless asked to keep whitespace (iwd-passthrough2, js-quote)', () => {
    expect(ev.evaluate('  $(inputs.n)\n', ctx)).toBe(4);
    expect(ev.evaluate(' n=$(inputs.n) ', ctx)).toBe('n=4');
    expect(ev.evaluate('$(inputs.n)\n', ctx, { keepWhitespace: true })).toBe('4\n');
    expect(ev.evaluate('$(inputs.x)\n', ctx, { keepWhitespace: true })).toBe('{"path": "/a/b.txt", "size": 3}\n');
    expect(ev.evaluate('  plain  ', ctx)).toBe('  plain  ');
  });
  it('leaves plain text and escapes alone', () => {
    expect(ev.evaluate('plain', ctx)).toBe('plain');
    expect(ev.evaluate('\\$(inputs.n)', ctx)).toBe('$(inputs.n)');
  });
  it('refuses JavaScript without InlineJavascriptRequirement', () => {
    expect(() => ev.evaluate('$(1 + 1)', ctx)).toThrow(ExpressionError);
  });
});

describe('JavaScript expressions', () => {
  const ev = createEvaluator({ inlineJavascript: true, expressionLib: ['function twice(v) { return v * 2; }'] });
  it('evaluates expressions and function bodies with expressionLib', () => {
    expect(ev.evaluate('$(twice(inputs.n))', ctx)).toBe(8);
    expect(ev.evaluate('${ var t = 0; for (var i = 0; i < inputs.list.length; i++) t += inputs.list[i]; return t; }', ctx)).toBe(6);
    expect(ev.evaluate('$({a: inputs.s})', ctx)).toEqual({ a: 'hi' });
    expect(ev.evaluate('${ return; }', ctx)).toBe(null);
    expect(ev.evaluate('n=$(inputs.n + 1)', ctx)).toBe('n=5');
  });
  it('handles brackets inside strings', () => {
    expect(ev.evaluate('$(")" + inputs.s)', ctx)).toBe(')hi');
  });
  it('cannot reach the host process through constructors', () => {
    expect(() => ev.evaluate("$(inputs.constructor.constructor('return process')().pid)", ctx)).toThrow(ExpressionError);
    expect(() => ev.evaluate("$(this.constructor.constructor('return process')().exit)", ctx)).toThrow(ExpressionError);
    expect(ev.evaluate('$(typeof require)', ctx)).toBe('undefined');
    expect(ev.evaluate('$(typeof process)', ctx)).toBe('undefined');
  });
  it("allows cwltool's 20 s by default (timelimit_expressiontool spins for 5 s)", () => {
    expect(DEFAULT_TIMEOUT_MS).toBe(20_000);
  });
  it('stops a runaway expression', () => {
    const slow = createEvaluator({ inlineJavascript: true, expressionLib: [], timeoutMs: 50 });
    expect(() => slow.evaluate('${ while (true) {} }', ctx)).toThrow(/exceeded the time limit of 0.05 s/);
  });
  it('reports JavaScript errors with the expression', () => {
    expect(() => ev.evaluate('$(inputs.nothing.deeper)', ctx)).toThrow(/inputs\.nothing\.deeper/);
  });
});

describe('pythonJson', () => {
  it("writes JSON as Python's json.dumps(sort_keys=True) does", () => {
    expect(pythonJson({ b: 1, a: [true, null, 'x'] })).toBe('{"a": [true, null, "x"], "b": 1}');
    expect(pythonJson([1e-5, 44.4, 1.5e-7, 0.0001, 2.5e20, 1.5e300])).toBe('[1e-05, 44.4, 1.5e-07, 0.0001, 2.5e+20, 1.5e+300]');
    expect(pythonJson('\u00e9\u2603\n"')).toBe('"\\u00e9\\u2603\\n\\""');
  });
});
