/**
 * One small document per class of rejection: the problems the validation pass reports, each with
 * the exact line:column and field path of the offending field.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../errors.js';
import { loadDocument } from '../index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'strand-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

const where = (p: { detail: string; location?: { file: string; line?: number; column?: number; fieldPath?: string } }) =>
  `${path.basename(p.location?.file ?? '')}:${p.location?.line}:${p.location?.column}: ${p.location?.fieldPath}: ${p.detail}`;

/** The problems of an invalid document, one `file:line:col: path: message` line each. */
async function problems(file: string): Promise<string[]> {
  try {
    await loadDocument(file);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return err.problems.map(where);
  }
  throw new Error(`${file} was accepted`);
}

async function warnings(file: string): Promise<string[]> {
  const out: string[] = [];
  await loadDocument(file, { onWarning: (w) => out.push(w.replace(dir + '/', '')) });
  return out;
}

const echo = write(
  'echo.cwl',
  `cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  msg: string
  n: {type: int, default: 1}
  opt: string?
  f:
    type: File?
    secondaryFiles: [.bai]
outputs:
  out: stdout
`,
);
void echo;
write(
  'idx.cwl',
  `cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  bam: {type: File, secondaryFiles: [.bai]}
outputs: {}
`,
);

describe('workflow static checks', () => {
  it('rejects a cycle between steps, at the source that closes it', async () => {
    const f = write(
      'cycle.cwl',
      `cwlVersion: v1.2
class: Workflow
inputs: {}
outputs: {}
steps:
  a:
    run: echo.cwl
    in:
      msg: b/out
    out: [out]
  b:
    run: echo.cwl
    in:
      msg: a/out
    out: [out]
`,
    );
    const p = await problems(f);
    expect(p.filter((x) => x.includes('form a cycle'))).toEqual(['cycle.cwl:14:12: steps.b.in.msg.source: steps a -> b -> a form a cycle: each waits for the other\'s outputs']);
  });

  it('rejects a step output the tool does not have', async () => {
    const f = write(
      'out.cwl',
      `cwlVersion: v1.2
class: Workflow
inputs: {m: string}
outputs: {}
steps:
  s:
    run: echo.cwl
    in: {msg: m}
    out: [out, nope]
`,
    );
    expect(await problems(f)).toEqual(['out.cwl:9:16: steps.s.out.nope: step s lists output "nope", which echo.cwl does not have (its outputs: out)']);
  });

  it('rejects a required tool input the step does not connect', async () => {
    const f = write(
      'missing.cwl',
      `cwlVersion: v1.2
class: Workflow
inputs: {}
outputs: {}
steps:
  s:
    run: echo.cwl
    in:
      opt: {default: x}
    out: [out]
`,
    );
    expect(await problems(f)).toEqual([
      'missing.cwl:8:5: steps.s.in: step s does not give a value to the required input "msg" (string) of echo.cwl: add it to `in` with a source, a default or a valueFrom',
    ]);
  });

  it('rejects incompatible source and sink types, and warns where they may not match', async () => {
    const f = write(
      'types.cwl',
      `cwlVersion: v1.2
class: Workflow
inputs:
  num: int
  maybe: string?
  plain: File
outputs:
  o:
    type: int
    outputSource: s/out
steps:
  s:
    run: echo.cwl
    in:
      msg: num
      opt: maybe
      f: plain
    out: [out]
`,
    );
    expect(await problems(f)).toEqual([
      'types.cwl:10:19: outputs.o.outputSource: output o: source "s/out" at line 18 of type File is incompatible with int',
      'types.cwl:15:12: steps.s.in.msg.source: step s input msg: source "num" at line 4 of type int is incompatible with string',
    ]);
    const ok = write('types-ok.cwl', `cwlVersion: v1.2
class: Workflow
inputs:
  maybe: string?
  plain: File
outputs: {}
steps:
  s:
    run: echo.cwl
    in:
      msg: maybe
    out: [out]
  i:
    run: idx.cwl
    in:
      bam: plain
    out: []
`);
    expect(await warnings(ok)).toEqual([
      'types-ok.cwl:11:12: steps.s.in.msg.source: step s input msg: source "maybe" at line 4 of type string? may be incompatible with string',
      'types-ok.cwl:16:12: steps.i.in.bam.source: step i input bam requires secondaryFiles ".bai" but source "plain" does not provide them: add them to the source\'s secondaryFiles or mark them required: false',
    ]);
  });

  it('takes linkMerge, scatter depth and valueFrom into account', async () => {
    const f = write(
      'merge.cwl',
      `cwlVersion: v1.2
class: Workflow
requirements: {MultipleInputFeatureRequirement: {}, ScatterFeatureRequirement: {}, StepInputExpressionRequirement: {}}
inputs:
  a: string
  b: string
  many: string[]
  n: int
outputs:
  all:
    type: File[]
    outputSource: scattered/out
  nested:
    type: File
    outputSource: scattered/out
steps:
  merged:
    run: echo.cwl
    in:
      msg:
        source: [a, b]
        valueFrom: $(self.join(' '))
    out: [out]
  scattered:
    run: echo.cwl
    scatter: msg
    in: {msg: many, n: {source: a, valueFrom: '$(1)'}}
    out: [out]
  flat:
    run: echo.cwl
    in:
      msg:
        source: [a, b]
        linkMerge: merge_flattened
    out: [out]
`,
    );
    expect(await problems(f)).toEqual([
      'merge.cwl:15:19: outputs.nested.outputSource: output nested: source "scattered/out" at line 28 of type File[] is incompatible with File',
      'merge.cwl:33:17: steps.flat.in.msg.source: step flat input msg: source "a" at line 5 of type string is incompatible with string (merged by linkMerge merge_flattened into string[])',
      'merge.cwl:33:17: steps.flat.in.msg.source: step flat input msg: source "b" at line 6 of type string is incompatible with string (merged by linkMerge merge_flattened into string[])',
    ]);
  });

  it('warns about a step input the tool does not have, and locates a dangling source at its value', async () => {
    const f = write(
      'extra.cwl',
      `cwlVersion: v1.2
class: Workflow
inputs: {m: string}
outputs: {}
steps:
  s:
    run: echo.cwl
    in: {msg: m, extra: m}
    out: [out]
`,
    );
    expect(await warnings(f)).toEqual(['extra.cwl:8:18: steps.s.in.extra: "extra" is not an input of echo.cwl (its inputs: msg, n, opt, f); it is not passed to the tool']);
    const g = write('dangling.cwl', 'cwlVersion: v1.2\nclass: Workflow\ninputs: {}\noutputs: {}\nsteps:\n  s:\n    run: echo.cwl\n    in:\n      msg: nowhere\n    out: []\n');
    expect(await problems(g)).toEqual(['dangling.cwl:9:12: steps.s.in.msg.source: step s input msg: source "nowhere" is not a workflow input or a step output']);
  });
});

describe('feature requirements and symbols', () => {
  it('rejects scatter, several sources, valueFrom and subworkflows without their requirement, and scatter over several inputs without scatterMethod', async () => {
    const f = write(
      'features.cwl',
      `cwlVersion: v1.2
class: Workflow
inputs: {a: 'string[]', b: 'string[]'}
outputs: {}
steps:
  s:
    run: echo.cwl
    scatter: [msg, opt]
    in:
      msg: a
      opt: b
      n: {source: [a, b], valueFrom: '$(1)'}
    out: []
  sub:
    run: sub.cwl
    in: {a: a}
    out: []
`,
    );
    write('sub.cwl', 'cwlVersion: v1.2\nclass: Workflow\ninputs: {a: Any}\noutputs: {}\nsteps: {}\n');
    expect(await problems(f)).toEqual([
      'features.cwl:8:5: steps.s.scatter: step s scatters, which needs ScatterFeatureRequirement in the requirements of the workflow or the step',
      'features.cwl:8:5: steps.s.scatter: step s scatters over several inputs (msg, opt): say how to combine them with scatterMethod (dotproduct, nested_crossproduct or flat_crossproduct)',
      'features.cwl:12:19: steps.s.in.n.source: step s input n has several sources, which needs MultipleInputFeatureRequirement in the requirements of the workflow or the step',
      'features.cwl:12:27: steps.s.in.n.valueFrom: step s input n has a valueFrom, which needs StepInputExpressionRequirement in the requirements of the workflow or the step',
      'features.cwl:15:5: steps.sub.run: step sub runs a workflow, which needs SubworkflowFeatureRequirement in the requirements of the workflow or the step',
    ]);
  });

  it('rejects a symbol that is not one of the allowed ones', async () => {
    const f = write('symbols.cwl', 'cwlVersion: v1.2\nclass: Workflow\ninputs: {a: string}\noutputs:\n  o: {type: string, outputSource: a, pickValue: first_non_nul}\nsteps: {}\n');
    expect(await problems(f)).toEqual([
      "symbols.cwl:5:49: outputs.o.pickValue: pickValue must be one of 'first_non_null', 'the_only_non_null', 'all_non_null', not \"first_non_nul\"",
    ]);
  });

  it('rejects a workflow that runs itself', async () => {
    const f = write('self.cwl', 'cwlVersion: v1.2\nclass: Workflow\nrequirements: {SubworkflowFeatureRequirement: {}}\ninputs: {}\noutputs: {}\nsteps:\n  again:\n    run: self.cwl\n    in: {}\n    out: []\n');
    expect(await problems(f)).toEqual(['self.cwl:8:10: steps.again.run: run self.cwl makes a loop: self.cwl runs self.cwl']);
  });

  it('rejects values of the wrong kind', async () => {
    const f = write('kinds.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 1\ninputs:\n  x: {type: string, inputBinding: {position: true}}\noutputs: {}\nstdout: [a]\n');
    expect(await problems(f)).toEqual([
      'kinds.cwl:3:14: baseCommand: `baseCommand` must be a string or a list of strings, not the number 1',
      'kinds.cwl:5:46: inputs.x.inputBinding.position: `position` must be a whole number or a string, not the boolean true',
      'kinds.cwl:7:9: stdout: `stdout` must be a string, not a list',
    ]);
  });

  it('names the step whose run cannot be read', async () => {
    const f = write('norun.cwl', 'cwlVersion: v1.2\nclass: Workflow\ninputs: {}\noutputs: {}\nsteps:\n  s:\n    run: missing-tool.cwl\n    in: {}\n    out: []\n');
    expect(await problems(f)).toEqual([`norun.cwl:7:10: steps.s.run: cannot read ${path.join(dir, 'missing-tool.cwl')}: ENOENT`]);
  });

  it('rejects a key given twice', async () => {
    const f = write('dup.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs:\n  x: string\n  x: int\noutputs: {}\n');
    expect(await problems(f)).toEqual(['dup.cwl:6:3: undefined: duplicate key "x" (first given at line 5)']);
  });
});

describe('fields and versions', () => {
  it('rejects unknown fields, allows namespaced extensions', async () => {
    const f = write(
      'fields.cwl',
      `cwlVersion: v1.2
class: CommandLineTool
$namespaces: {s: 'https://schema.org/'}
s:author: someone
baseCommand: echo
inputs:
  x:
    type: string
    inputBinding: {prefix: -x, prefx: -y}
outputs: {}
stdot: out.txt
`,
    );
    expect(await problems(f)).toEqual([
      "fields.cwl:9:32: inputs.x.inputBinding.prefx: invalid field `prefx`, expected one of: 'loadContents', 'position', 'prefix', 'separate', 'itemSeparator', 'valueFrom', 'shellQuote'",
      "fields.cwl:11:1: stdot: invalid field `stdot`, expected one of: 'id', 'label', 'doc', 'inputs', 'outputs', 'requirements', 'hints', 'cwlVersion', 'class', 'intent', 'baseCommand', 'arguments', 'stdin', 'stdout', 'stderr', 'successCodes', 'temporaryFailCodes', 'permanentFailCodes'",
    ]);
  });

  it('rejects hints that are not objects with a class, and bad fields of known requirements', async () => {
    const list = write('hints.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\nhints:\n  - DockerRequirement\ninputs: {}\noutputs: {}\n');
    expect(await problems(list)).toEqual(['hints.cwl:5:5: hints[0]: hints must be a list of objects with a `class`, but item 1 is the string "DockerRequirement"']);
    const map = write('hints2.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\nhints: {a: 1}\nrequirements:\n  ResourceRequirement: {coresMin: 1, bogus: 2}\ninputs: {}\noutputs: {}\n');
    expect(await problems(map)).toEqual([
      'hints2.cwl:4:9: hints.a: hints: the value of a must be an object (use `a: {}`), not the number 1',
      "hints2.cwl:6:38: requirements.ResourceRequirement.bogus: invalid field `bogus` of ResourceRequirement, expected one of: 'class', 'coresMin', 'coresMax', 'ramMin', 'ramMax', 'tmpdirMin', 'tmpdirMax', 'outdirMin', 'outdirMax'",
    ]);
    const unknown = write('hints3.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\nhints:\n  FooRequirement: {}\ninputs: {}\noutputs: {}\n');
    expect((await warnings(unknown))[0]).toMatch(/^hints3\.cwl:5:3: hints\.FooRequirement: unknown hint class FooRequirement; expected one of: .* \(ignored\)$/);
  });

  it('rejects v1.1 and v1.2 features in a v1.0 or v1.1 document', async () => {
    const f = write(
      'v10.cwl',
      `cwlVersion: v1.0
class: Workflow
requirements:
  - class: LoadListingRequirement
    loadListing: deep_listing
inputs:
  inp:
    type: File
    secondaryFiles:
      - pattern: .2
        required: true
outputs: []
steps:
  s:
    in: {msg: inp}
    out: []
    when: $(true)
    run:
      class: CommandLineTool
      cwlVersion: v1.1
      requirements:
        ResourceRequirement: {coresMin: .5}
      inputs: {msg: File}
      outputs: []
      baseCommand: echo
`,
    );
    expect(await problems(f)).toEqual([
      'v10.cwl:4:5: requirements.LoadListingRequirement: LoadListingRequirement is a CWL v1.1 feature, but this document is cwlVersion v1.0',
      'v10.cwl:10:9: inputs.inp.secondaryFiles[0]: secondaryFiles entries must be patterns or expressions in cwlVersion v1.0; {pattern, required} is a CWL v1.1 feature',
      'v10.cwl:17:5: steps.s.when: `when` is a CWL v1.2 feature, but this document is cwlVersion v1.0',
      'v10.cwl:22:31: steps.s.run.requirements.ResourceRequirement.coresMin: coresMin must be a whole number in cwlVersion v1.1 (fractions like 0.5 are a CWL v1.2 feature)',
    ]);
  });

  it('rejects a literal entryname that leaves the output directory', async () => {
    const f = write(
      'iwd.cwl',
      `cwlVersion: v1.2
class: CommandLineTool
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: ../up.txt
        entry: hi
      - entryname: sub/../ok.txt
        entry: hi
baseCommand: cat
inputs: {}
outputs: {}
`,
    );
    expect(await problems(f)).toEqual(['iwd.cwl:6:20: requirements.InitialWorkDirRequirement.listing[0].entryname: entryname "../up.txt" points outside the output directory']);
  });

  it('locates loader errors at the field, not at 1:1', async () => {
    const f = write('scatter.cwl', 'cwlVersion: v1.2\nclass: Workflow\ninputs: {m: string}\noutputs: {}\nsteps:\n  s:\n    run: echo.cwl\n    scatter: mgs\n    in: {msg: m}\n    out: []\n');
    expect(await problems(f)).toEqual(['scatter.cwl:8:14: steps.s.scatter: step s: scatter names "mgs", which is not one of its inputs']);
    const v = write('version.cwl', 'class: CommandLineTool\ncwlVersion: v2.0\ninputs: {}\noutputs: {}\n');
    expect(await problems(v)).toEqual(['version.cwl:2:13: cwlVersion: unsupported cwlVersion "v2.0" (Strand reads v1.0, v1.1 and v1.2)']);
  });
});
