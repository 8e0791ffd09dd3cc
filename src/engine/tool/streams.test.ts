import { describe, expect, it } from 'vitest';
import type { OutputParameter } from '../../model/types.js';
import { resolveStreams } from './streams.js';
import { fakeEvaluator, makeTool } from './test-support.js';

const fc = { evaluator: fakeEvaluator(), inputs: { name: 'res', f: { class: 'File', path: '/d/in.txt' } }, runtime: { outdir: '/o' } };

describe('resolveStreams', () => {
  it('evaluates stdout/stderr/stdin expressions', () => {
    const s = resolveStreams(makeTool({ stdout: '$(inputs.name).out', stderr: 'err.txt', stdin: '$(inputs.f.path)' }), fc);
    expect(s.stdout).toBe('res.out');
    expect(s.stderr).toBe('err.txt');
    expect(s.stdin).toBe('/d/in.txt');
    expect(s.tool.stdout).toBe('res.out');
  });

  it('a stdin expression may yield the File itself', () => {
    expect(resolveStreams(makeTool({ stdin: '$(inputs.f)' }), fc).stdin).toBe('/d/in.txt');
  });

  it('gives stdout-typed outputs a generated name and a File glob', () => {
    const outputs = [{ id: 'out', type: 'stdout' } as unknown as OutputParameter, { id: 'err', type: 'stderr' } as unknown as OutputParameter];
    const s = resolveStreams(makeTool({ outputs }), fc, (k) => `gen.${k}`);
    expect(s.stdout).toBe('gen.stdout');
    expect(s.stderr).toBe('gen.stderr');
    expect(s.tool.outputs).toEqual([
      { id: 'out', type: 'File', outputBinding: { glob: 'gen.stdout' } },
      { id: 'err', type: 'File', outputBinding: { glob: 'gen.stderr' } },
    ]);
  });

  it('keeps the tool’s stdout name for stdout-typed outputs', () => {
    const outputs = [{ id: 'out', type: 'stdout' } as unknown as OutputParameter];
    const s = resolveStreams(makeTool({ outputs, stdout: 'x.txt' }), fc);
    expect(s.tool.outputs[0]?.outputBinding?.glob).toBe('x.txt');
  });

  it('refuses stdout outside the output directory', () => {
    expect(() => resolveStreams(makeTool({ stdout: '../x' }), fc)).toThrow(/inside the output directory/);
    expect(() => resolveStreams(makeTool({ stdout: '/etc/x' }), fc)).toThrow(/inside the output directory/);
  });
});
