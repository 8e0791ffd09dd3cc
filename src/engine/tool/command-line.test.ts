import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandLineTool, CwlObject, CwlType, InputParameter, RecordSchema } from '../../model/types.js';
import { buildCommandLine, compareKeys } from './command-line.js';
import { fakeEvaluator, file, makeTool } from './test-support.js';

const ev = fakeEvaluator();
const runtime: CwlObject = { cores: 2, ram: 256, outdir: '/out', tmpdir: '/tmp/t', outdirSize: 1024, tmpdirSize: 1024 };

/** The conformance tests run `python args.py ...` and compare the basenames of the rest. */
const argsPy: InputParameter = { id: 'args.py', type: 'File', inputBinding: { position: -1 } };
function conformanceArgs(tool: CommandLineTool, job: CwlObject): string[] {
  const argv = buildCommandLine(tool, { 'args.py': file('args.py'), ...job }, ev, runtime);
  expect(argv.slice(0, 2)).toEqual(['python', '/data/args.py']);
  return argv.slice(2).map((a) => path.basename(a));
}

describe('buildCommandLine: conformance expectations', () => {
  const bwaJob: CwlObject = {
    reference: file('chr20.fa'),
    reads: [file('example_human_Illumina.pe_1.fastq'), file('example_human_Illumina.pe_2.fastq')],
    min_std_max_min: [1, 2, 3, 4],
    minimum_seed_length: 3,
  };

  it('cl_basic_generation (bwa-mem-tool)', () => {
    const tool = makeTool({
      baseCommand: ['python'],
      arguments: ['bwa', 'mem', { valueFrom: '$(runtime.cores)', position: 1, prefix: '-t' }],
      inputs: [
        { id: 'reference', type: 'File', inputBinding: { position: 2 } },
        { id: 'reads', type: { type: 'array', items: 'File' }, inputBinding: { position: 3 } },
        { id: 'minimum_seed_length', type: 'int', inputBinding: { position: 1, prefix: '-m' } },
        { id: 'min_std_max_min', type: { type: 'array', items: 'int' }, inputBinding: { position: 1, prefix: '-I', itemSeparator: ',' } },
        argsPy,
      ],
    });
    expect(conformanceArgs(tool, bwaJob)).toEqual([
      'bwa', 'mem', '-t', '2', '-I', '1,2,3,4', '-m', '3', 'chr20.fa',
      'example_human_Illumina.pe_1.fastq', 'example_human_Illumina.pe_2.fastq',
    ]);
  });

  it('nested_prefixes_arrays (binding-test)', () => {
    const tool = makeTool({
      baseCommand: ['python'],
      arguments: ['bwa', 'mem'],
      inputs: [
        { id: 'reference', type: 'File', inputBinding: { position: 2 } },
        {
          id: 'reads',
          type: { type: 'array', items: 'File', inputBinding: { prefix: '-YYY' } },
          inputBinding: { position: 3, prefix: '-XXX' },
        },
        argsPy,
      ],
    });
    expect(conformanceArgs(tool, bwaJob)).toEqual([
      'bwa', 'mem', 'chr20.fa', '-XXX', '-YYY', 'example_human_Illumina.pe_1.fastq', '-YYY', 'example_human_Illumina.pe_2.fastq',
    ]);
  });

  it('nested_cl_bindings (tmap-tool, records in arrays, enums, unions of records)', () => {
    const mapRecord = (n: number, extra: [string, string, 'int' | 'boolean']): RecordSchema => ({
      type: 'record',
      name: `Map${n}`,
      fields: [
        { name: 'algo', type: { type: 'enum', name: `JustMap${n}`, symbols: [`map${n}`] }, inputBinding: { position: 0 } },
        { name: 'maxSeqLen', type: ['null', 'int'], inputBinding: { prefix: '--max-seq-length', position: 2 } },
        { name: 'minSeqLen', type: ['null', 'int'], inputBinding: { prefix: '--min-seq-length', position: 2 } },
        { name: extra[0], type: ['null', extra[2]], inputBinding: { position: 2, prefix: extra[1] } },
      ],
    });
    const stage: RecordSchema = {
      type: 'record',
      name: 'Stage',
      fields: [
        { name: 'stageId', type: ['null', 'int'], inputBinding: { position: 0, prefix: 'stage', separate: false } },
        { name: 'stageOption1', type: ['null', 'boolean'], inputBinding: { position: 1, prefix: '-n' } },
        {
          name: 'algos',
          type: {
            type: 'array',
            items: [
              mapRecord(1, ['seedLength', '--seed-length', 'int']),
              mapRecord(2, ['maxSeedHits', '--max-seed-hits', 'int']),
              mapRecord(3, ['fwdSearch', '--fwd-search', 'boolean']),
              mapRecord(4, ['seedStep', '--seed-step', 'int']),
            ],
          },
          inputBinding: { position: 2 },
        },
      ],
    };
    const tool = makeTool({
      baseCommand: ['python'],
      arguments: ['tmap', 'mapall'],
      inputs: [{ id: 'reads', type: 'File' }, { id: 'stages', type: { type: 'array', items: stage }, inputBinding: { position: 1 } }, argsPy],
    });
    const job: CwlObject = {
      reads: file('reads.fastq'),
      stages: [
        { algos: [{ algo: 'map1', minSeqLen: 20 }, { algo: 'map2', minSeqLen: 20 }], stageId: 1 },
        {
          algos: [
            { minSeqLen: 10, maxSeqLen: 20, seedLength: 16, algo: 'map1' },
            { maxSeedHits: -1, minSeqLen: 10, maxSeqLen: 20, algo: 'map2' },
          ],
          stageId: 2,
        },
      ],
    };
    expect(conformanceArgs(tool, job)).toEqual([
      'tmap', 'mapall', 'stage1', 'map1', '--min-seq-length', '20', 'map2', '--min-seq-length', '20',
      'stage2', 'map1', '--max-seq-length', '20', '--min-seq-length', '10', '--seed-length', '16',
      'map2', '--max-seed-hits', '-1', '--max-seq-length', '20', '--min-seq-length', '10',
    ]);
  });

  const cat1 = makeTool({
    baseCommand: ['python'],
    arguments: ['cat'],
    inputs: [
      { id: 'file1', type: 'File', inputBinding: { position: 1 } },
      { id: 'numbering', type: ['null', 'boolean'], inputBinding: { position: 0, prefix: '-n' } },
      argsPy,
    ],
  });
  it('cl_optional_inputs_missing', () => {
    expect(conformanceArgs(cat1, { file1: file('hello.txt') })).toEqual(['cat', 'hello.txt']);
    expect(conformanceArgs(cat1, { file1: file('hello.txt'), numbering: null })).toEqual(['cat', 'hello.txt']);
  });
  it('cl_optional_bindings_provided', () => {
    expect(conformanceArgs(cat1, { file1: file('hello.txt'), numbering: true })).toEqual(['cat', '-n', 'hello.txt']);
    expect(conformanceArgs(cat1, { file1: file('hello.txt'), numbering: false })).toEqual(['cat', 'hello.txt']);
  });

  it('inlinejs_req_expressions: valueFrom results of every type', () => {
    const tool = makeTool({
      baseCommand: ['python'],
      requirements: [{ class: 'InlineJavascriptRequirement' }],
      inputs: [argsPy],
      arguments: [
        { prefix: '-A', valueFrom: '$(1+1)' },
        { prefix: '-B', valueFrom: `$("/foo/bar/baz".split('/').slice(-1)[0])` },
        { prefix: '-C', valueFrom: '${\n  var r = [];\n  for (var i = 10; i >= 1; i--) { r.push(i); }\n  return r;\n}\n' },
        { prefix: '-D', valueFrom: '$(true)' },
        { prefix: '-E', valueFrom: '$(false)' },
      ],
    });
    expect(conformanceArgs(tool, {})).toEqual(['-A', '2', '-B', 'baz', '-C', '10', '9', '8', '7', '6', '5', '4', '3', '2', '1', '-D']);
  });

  it('record_order_with_input_bindings', () => {
    const tool = makeTool({
      baseCommand: ['python'],
      inputs: [
        argsPy,
        {
          id: 'a',
          type: {
            type: 'record',
            fields: [
              { name: 'b', type: 'int', inputBinding: { position: 1, prefix: '-b' } },
              { name: 'c', type: 'int', inputBinding: { position: 3, prefix: '-c' } },
            ],
          },
          inputBinding: { position: 5, prefix: '-a' },
        },
        {
          id: 'd',
          type: {
            type: 'record',
            fields: [
              { name: 'e', type: 'int', inputBinding: { position: 2, prefix: '-e' } },
              { name: 'f', type: 'int', inputBinding: { position: 4, prefix: '-f' } },
            ],
          },
          inputBinding: { position: 6, prefix: '-d' },
        },
      ],
    });
    expect(conformanceArgs(tool, { a: { b: 1, c: 3 }, d: { e: 2, f: 4 } })).toEqual(['-a', '-b', '1', '-c', '3', '-d', '-e', '2', '-f', '4']);
  });

  it('booleanflags_cl_noinputbinding: false with an empty inputBinding adds nothing, true without prefix neither', () => {
    const tool = makeTool({ baseCommand: ['python'], inputs: [{ id: 'flag', type: 'boolean', inputBinding: {} }, argsPy] });
    expect(conformanceArgs(tool, { flag: false })).toEqual([]);
    expect(conformanceArgs(tool, { flag: true })).toEqual([]);
  });

  it('cl_empty_array_input: an empty array with prefix and itemSeparator adds nothing', () => {
    const tool = makeTool({
      baseCommand: ['python'],
      inputs: [{ id: 'array', type: { type: 'array', items: 'int' }, inputBinding: { position: 1, prefix: '-I', itemSeparator: ',' } }, argsPy],
    });
    expect(conformanceArgs(tool, { array: [] })).toEqual([]);
    expect(conformanceArgs(tool, { array: [7] })).toEqual(['-I', '7']);
  });

  it('valuefrom_constant_overrides_inputs', () => {
    const tool = makeTool({
      baseCommand: ['python'],
      inputs: [{ id: 'array_input', type: [{ type: 'array', items: 'File' }], inputBinding: { valueFrom: 'replacementValue' } }, argsPy],
    });
    expect(conformanceArgs(tool, { array_input: [file('a'), file('b')] })).toEqual(['replacementValue']);
  });

  it('expr_reference_self_noinput: a null input is not bound, valueFrom not evaluated', () => {
    const tool = makeTool({
      baseCommand: ['python'],
      inputs: [{ id: 'infile', type: ['null', 'File'], inputBinding: { prefix: '-cfg', valueFrom: '$(self.basename)' } }, argsPy],
    });
    expect(conformanceArgs(tool, {})).toEqual([]);
    expect(conformanceArgs(tool, { infile: file('x.cfg') })).toEqual(['-cfg', 'x.cfg']);
  });

  it('inputBinding_position_expr: positions from expressions, null meaning 0', () => {
    const tool = makeTool({
      baseCommand: ['echo'],
      requirements: [{ class: 'InlineJavascriptRequirement' }],
      inputs: [
        { id: 'one', type: 'int', inputBinding: { position: '$(self)' } },
        { id: 'two', type: 'int', inputBinding: { valueFrom: 'sensation!', position: '${return self+1;}' } },
      ],
      arguments: [
        { position: '${return 2;}', valueFrom: 'singular' },
        { position: '${return null;}', valueFrom: '\u{1F57A}' },
      ],
    });
    expect(buildCommandLine(tool, { one: 1, two: 2 }, ev, runtime)).toEqual(['echo', '\u{1F57A}', '1', 'singular', 'sensation!']);
  });

  it('very_big_and_very_floats: numbers are written in decimal notation', () => {
    const tool = makeTool({
      baseCommand: ['echo'],
      arguments: ['-n'],
      inputs: ['e1', 'e2', 'e3', 'e4'].map((id) => ({ id, type: 'float' as const, inputBinding: {} })),
    });
    expect(buildCommandLine(tool, { e1: 0.00001, e2: 1.23e-5, e3: 1.23e5, e4: 1230000 }, ev, runtime)).toEqual([
      'echo', '-n', '0.00001', '0.0000123', '123000', '1230000',
    ]);
  });
});

describe('buildCommandLine: binding rules', () => {
  const one = (inp: InputParameter, value: unknown, extra: Partial<CommandLineTool> = {}) =>
    buildCommandLine(makeTool({ baseCommand: ['cmd'], inputs: [inp], ...extra }), { [inp.id]: value } as CwlObject, ev, runtime);

  it('prefix with separate: false glues prefix and value', () => {
    expect(one({ id: 'x', type: 'int', inputBinding: { prefix: '--n=', separate: false } }, 5)).toEqual(['cmd', '--n=5']);
    expect(one({ id: 'x', type: 'int', inputBinding: { prefix: '-n' } }, 5)).toEqual(['cmd', '-n', '5']);
  });

  it('arrays: itemSeparator with separate false, prefix per item via item binding', () => {
    const t = { type: 'array' as const, items: 'string' as const };
    expect(one({ id: 'x', type: t, inputBinding: { prefix: '-x=', separate: false, itemSeparator: ';' } }, ['a', 'b'])).toEqual(['cmd', '-x=a;b']);
    expect(one({ id: 'x', type: { ...t, inputBinding: { prefix: '-i' } } }, ['a', 'b'])).toEqual(['cmd', '-i', 'a', '-i', 'b']);
    expect(one({ id: 'x', type: t, inputBinding: { prefix: '-l' } }, ['a', 'b'])).toEqual(['cmd', '-l', 'a', 'b']);
    expect(one({ id: 'x', type: t, inputBinding: { prefix: '-l' } }, [])).toEqual(['cmd']);
    // An array whose items have no binding and that has no binding itself is not on the command line.
    expect(one({ id: 'x', type: t }, ['a'])).toEqual(['cmd']);
  });

  it('an inputBinding with valueFrom gets self = the value', () => {
    expect(one({ id: 'x', type: 'File', inputBinding: { valueFrom: '$(self.basename).bak', prefix: '-o' } }, file('in.txt'))).toEqual(['cmd', '-o', 'in.txt.bak']);
    expect(one({ id: 'x', type: { type: 'array', items: 'int' }, inputBinding: { valueFrom: '$(self.length)' } }, [4, 5, 6])).toEqual(['cmd', '3']);
  });

  it('Files and Directories render as their path; enums as the symbol; records only by their fields', () => {
    expect(one({ id: 'x', type: 'Directory', inputBinding: {} }, { class: 'Directory', path: '/d/x' })).toEqual(['cmd', '/d/x']);
    expect(one({ id: 'x', type: { type: 'enum', symbols: ['a', 'b'] }, inputBinding: { prefix: '-m' } }, 'b')).toEqual(['cmd', '-m', 'b']);
    const rec: RecordSchema = { type: 'record', fields: [{ name: 'p', type: 'string', inputBinding: { prefix: '-p' } }, { name: 'q', type: 'string' }] };
    expect(one({ id: 'x', type: rec, inputBinding: {} }, { p: 'P', q: 'Q' })).toEqual(['cmd', '-p', 'P']);
  });

  it('an input without inputBinding is not on the command line, but its bound record fields are', () => {
    const rec: RecordSchema = { type: 'record', fields: [{ name: 'p', type: 'string', inputBinding: { prefix: '-p' } }] };
    expect(one({ id: 'x', type: rec }, { p: 'P' })).toEqual(['cmd', '-p', 'P']);
    expect(one({ id: 'x', type: 'string' }, 'nope')).toEqual(['cmd']);
  });

  it('type-level inputBinding of an enum applies', () => {
    expect(one({ id: 'x', type: { type: 'enum', symbols: ['fast', 'slow'], inputBinding: { prefix: '--mode' } } }, 'fast')).toEqual(['cmd', '--mode', 'fast']);
  });

  it('position may be an expression evaluated with self', () => {
    const tool = makeTool({
      baseCommand: ['cmd'],
      inputs: [
        { id: 'a', type: 'string', inputBinding: { position: '$(inputs.n)' } },
        { id: 'b', type: 'string', inputBinding: { position: 2 } },
        { id: 'n', type: 'int' },
      ],
    });
    expect(buildCommandLine(tool, { a: 'A', b: 'B', n: 3 }, ev, runtime)).toEqual(['cmd', 'B', 'A']);
    expect(buildCommandLine(tool, { a: 'A', b: 'B', n: 1 }, ev, runtime)).toEqual(['cmd', 'A', 'B']);
  });

  it('ties at the same position: arguments (by index) before inputs, inputs by name', () => {
    const tool = makeTool({
      baseCommand: ['cmd'],
      arguments: ['arg0', { valueFrom: 'arg1' }],
      inputs: [
        { id: 'zeta', type: 'string', inputBinding: {} },
        { id: 'alpha', type: 'string', inputBinding: {} },
        { id: 'late', type: 'string', inputBinding: { position: 1 } },
        { id: 'early', type: 'string', inputBinding: { position: -1 } },
      ],
    });
    expect(buildCommandLine(tool, { zeta: 'z', alpha: 'a', late: 'l', early: 'e' }, ev, runtime)).toEqual(['cmd', 'e', 'arg0', 'arg1', 'a', 'z', 'l']);
  });

  it('a union picks the alternative the value belongs to', () => {
    const t: CwlType = ['null', 'int', { type: 'array', items: 'string', inputBinding: { prefix: '-s' } }];
    expect(one({ id: 'x', type: t, inputBinding: { prefix: '-x' } }, 3)).toEqual(['cmd', '-x', '3']);
    expect(one({ id: 'x', type: t, inputBinding: { prefix: '-x' } }, ['a', 'b'])).toEqual(['cmd', '-x', '-s', 'a', '-s', 'b']);
  });

  it('Any-typed inputs render arrays item by item', () => {
    expect(one({ id: 'x', type: 'Any', inputBinding: { prefix: '-a' } }, [1, 2])).toEqual(['cmd', '-a', '1', '-a', '2']);
    expect(one({ id: 'x', type: 'Any', inputBinding: {} }, 'str')).toEqual(['cmd', 'str']);
  });

  it('a File without path cannot be rendered', () => {
    expect(() => one({ id: 'x', type: 'File', inputBinding: {} }, { class: 'File', location: 'file:///a' })).toThrow(/path/);
  });

  it('literal arguments are not evaluated; expression arguments are', () => {
    const tool = makeTool({ baseCommand: ['cmd'], arguments: ['plain', '$(runtime.outdir)/x', '-c=$(runtime.cores)'] });
    expect(buildCommandLine(tool, {}, ev, runtime)).toEqual(['cmd', 'plain', '/out/x', '-c=2']);
  });
});

describe('buildCommandLine: edge cases checked against cwltool 3.1', () => {
  it('matches the reference runner word for word', () => {
    const tool = makeTool({
      baseCommand: ['py'],
      inputs: [
        { id: 'anyarr', type: 'Any', inputBinding: { prefix: '-a', position: 1 } },
        { id: 'bools', type: { type: 'array', items: 'boolean' }, inputBinding: { prefix: '-b', itemSeparator: ',', position: 2 } },
        {
          id: 'nested',
          type: { type: 'array', items: { type: 'array', items: 'string', inputBinding: { prefix: '-i' } } },
          inputBinding: { prefix: '-n', position: 3 },
        },
        {
          id: 'rec',
          type: { type: 'record', fields: [{ name: 'x', type: 'int', inputBinding: { prefix: '-x' } }] },
          inputBinding: { valueFrom: '$(self.x + 100)', prefix: '-r', position: 4 },
        },
        { id: 'strs', type: { type: 'array', items: 'string' }, inputBinding: { valueFrom: '$(self.length)', position: 6 } },
        { id: 'sep', type: { type: 'array', items: 'string' }, inputBinding: { prefix: '-s=', separate: false, position: 7 } },
      ],
    });
    const job: CwlObject = { anyarr: [1, 2], bools: [true, false], nested: [['a', 'b'], ['c']], rec: { x: 1 }, strs: ['p', 'q'], sep: ['u', 'v'] };
    expect(buildCommandLine(tool, job, ev, runtime)).toEqual([
      'py', '-a', '1', '-a', '2', '-b', 'True,False', '-n', '-i', 'a', '-i', 'b', '-i', 'c', '-r', '101', '2', '-s=', 'u', 'v',
    ]);
  });
});

describe('buildCommandLine: ShellCommandRequirement', () => {
  it('joins everything into one /bin/sh -c, quoting unless shellQuote is false', () => {
    const tool = makeTool({
      requirements: [{ class: 'ShellCommandRequirement' }],
      baseCommand: ['echo'],
      arguments: [
        { valueFrom: 'a b', position: 0 },
        { valueFrom: '|', shellQuote: false, position: 1 },
        { valueFrom: 'wc -c', shellQuote: false, position: 2 },
      ],
      inputs: [{ id: 'q', type: 'string', inputBinding: { position: 0 } }],
    });
    expect(buildCommandLine(tool, { q: "it's" }, ev, runtime)).toEqual(['/bin/sh', '-c', `echo 'a b' 'it'"'"'s' | wc -c`]);
  });

  it('without ShellCommandRequirement shellQuote is ignored and no shell is used', () => {
    const tool = makeTool({ baseCommand: ['echo'], arguments: [{ valueFrom: 'a b', shellQuote: false }] });
    expect(buildCommandLine(tool, {}, ev, runtime)).toEqual(['echo', 'a b']);
    expect(buildCommandLine(tool, {}, ev, runtime, { shell: true })).toEqual(['/bin/sh', '-c', 'echo a b']);
  });

  it('empty strings are quoted', () => {
    const tool = makeTool({ hints: [{ class: 'ShellCommandRequirement' }], baseCommand: ['printf'], inputs: [{ id: 's', type: 'string', inputBinding: {} }] });
    expect(buildCommandLine(tool, { s: '' }, ev, runtime)).toEqual(['/bin/sh', '-c', "printf ''"]);
  });
});

describe('compareKeys', () => {
  it('orders numbers numerically, strings as strings, shorter first', () => {
    expect(compareKeys([1], [2])).toBeLessThan(0);
    expect(compareKeys([10], [9])).toBeGreaterThan(0);
    expect(compareKeys([0, 'a'], [0, 'b'])).toBeLessThan(0);
    expect(compareKeys([0, 'a'], [0, 'a', 1])).toBeLessThan(0);
    expect(compareKeys([0, 1], [0, 'a'])).toBeLessThan(0);
    expect(compareKeys([3, 'x'], [3, 'x'])).toBe(0);
  });
});
