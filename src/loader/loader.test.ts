import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.js';
import { reindentContinuations } from './yaml-compat.js';
import { loadDocument, loadJob } from './index.js';

const suiteDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/cwl-v1.2');

function suiteTests(index: string): Array<{ id: string; tool: string; should_fail?: boolean; tags?: string[] }> {
  const dir = path.dirname(index);
  const out: Array<{ id: string; tool: string; should_fail?: boolean; tags?: string[] }> = [];
  for (const e of parse(reindentContinuations(readFileSync(index, 'utf8'))) as Array<Record<string, unknown>>) {
    if (typeof e.$import === 'string') out.push(...suiteTests(path.resolve(dir, e.$import)));
    else if (typeof e.tool === 'string') out.push({ ...(e as object), id: String(e.id), tool: path.resolve(dir, e.tool) } as never);
  }
  return out;
}

const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strand-loader-'));
  tmpDirs.push(dir);
  const f = path.join(dir, name);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, text);
  return f;
}

describe('loader', () => {
  it('normalises a workflow: map forms, type shorthands, sources', async () => {
    const f = tmpFile(
      'wf.cwl',
      `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs:
  reads: File[]
  ref: {type: File, secondaryFiles: [.fai, ^.dict?]}
outputs:
  out: {type: 'File[]', outputSource: step1/o}
steps:
  step1:
    run:
      class: CommandLineTool
      baseCommand: echo
      inputs: {r: File, x: string?}
      outputs: {o: stdout}
    scatter: r
    in: {r: reads, x: {default: hi}}
    out: [o]
`,
    );
    const wf = await loadDocument(f);
    if (wf.class !== 'Workflow') throw new Error('not a workflow');
    expect(wf.inputs[0]).toMatchObject({ id: 'reads', type: { type: 'array', items: 'File' } });
    expect(wf.inputs[1]?.secondaryFiles).toEqual([{ pattern: '.fai' }, { pattern: '^.dict', required: false }]);
    expect(wf.outputs[0]?.outputSource).toEqual(['step1/o']);
    const step = wf.steps[0];
    expect(step?.scatter).toEqual(['r']);
    expect(step?.in.map((i) => i.source)).toEqual([['reads'], []]);
    expect(step?.run.class).toBe('CommandLineTool');
    if (step?.run.class === 'CommandLineTool') {
      expect(step.run.baseCommand).toEqual(['echo']);
      expect(step.run.inputs[1]?.type).toEqual(['null', 'string']);
    }
  });

  it('names file, line and column of a YAML error', async () => {
    const f = tmpFile('bad.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\ninputs: [\n  - x\n');
    await expect(loadDocument(f)).rejects.toThrow(ValidationError);
    await expect(loadDocument(f)).rejects.toThrow(/bad\.cwl:\d+:\d+/);
  });

  it('names line, column and field of an unknown type', async () => {
    const f = tmpFile('t.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\ninputs:\n  reads: Fiel\noutputs: []\n');
    await expect(loadDocument(f)).rejects.toThrow(/t\.cwl:4:10: inputs\.reads\.type: unknown type "Fiel"/);
  });

  it('names the step and field of a dangling source', async () => {
    const f = tmpFile(
      'wf.cwl',
      'cwlVersion: v1.2\nclass: Workflow\ninputs: {a: string}\noutputs: {}\nsteps:\n  s:\n    run: {class: ExpressionTool, inputs: {}, outputs: {}, expression: "$({})"}\n    in: {x: nope}\n    out: []\n',
    );
    await expect(loadDocument(f)).rejects.toThrow(/steps\.s\.in\.x\.source/);
  });

  it('resolves job file locations against the job file', async () => {
    const f = tmpFile('job.yml', 'f: {class: File, path: data/x.txt}\nn: 3\n');
    const job = await loadJob(f);
    expect(job.n).toBe(3);
    expect(job.f).toEqual({ class: 'File', location: 'file://' + path.join(path.dirname(f), 'data/x.txt') });
  });


  it('reads a multi-line quoted valueFrom closed at its key\'s indentation as PyYAML and ruamel do (issue 17, 9a)', async () => {
    // The style of published GATK germline tools: `}'` under `valueFrom`, which YAML 1.2 (the
    // `yaml` package) refuses and cwltool accepts. Expected values are PyYAML's reading.
    const f = tmpFile(
      'haplotypecaller.cwl',
      `cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
baseCommand: [gatk, HaplotypeCaller]
arguments:
  - prefix: -O
    valueFrom: '\${
      return inputs.bam.nameroot + ".g.vcf.gz";
    }'
  - valueFrom: "\${
      return inputs.intervals ? '-L ' + inputs.intervals : '';
    }"
inputs:
  bam:
    type: File
    inputBinding:
      prefix: -I
      valueFrom: '\${
        if (self.basename.endsWith(''.cram'')) { return self; }
        return self;
      }'
  intervals: string?
  note:
    type: string?
    doc: |
      It's a note with an 'unbalanced quote
      second line
outputs: []
`,
    );
    const tool = await loadDocument(f);
    if (tool.class !== 'CommandLineTool') throw new Error('not a tool');
    expect(tool.arguments).toEqual([
      { prefix: '-O', valueFrom: '${ return inputs.bam.nameroot + ".g.vcf.gz"; }' },
      { valueFrom: "${ return inputs.intervals ? '-L ' + inputs.intervals : ''; }" },
    ]);
    expect(tool.inputs[0]?.inputBinding).toEqual({ prefix: '-I', valueFrom: "${ if (self.basename.endsWith('.cram')) { return self; } return self; }" });
    // A block scalar is not re-indented, even with a quote in it.
    expect(tool.inputs[2]?.doc).toBe("It's a note with an 'unbalanced quote\nsecond line\n");
  });

  it('splices an $import of a list into requirements and hints, as schema-salad does (issue 17, 9b)', async () => {
    // The layout of published GATK4 tools: shared requirement lists imported into each tool.
    const tool = tmpFile(
      'tools/mark-duplicates.cwl',
      `cwlVersion: v1.2
class: CommandLineTool
requirements:
  - $import: ../common/gatk-requirements.yml
  - class: InlineJavascriptRequirement
hints:
  - $import: ../common/gatk-hints.yml
baseCommand: [gatk, MarkDuplicates]
inputs:
  bam: {type: File, inputBinding: {prefix: -I}}
outputs: []
`,
    );
    const common = path.join(path.dirname(path.dirname(tool)), 'common');
    mkdirSync(common);
    writeFileSync(path.join(common, 'gatk-requirements.yml'), '- class: DockerRequirement\n  dockerPull: broadinstitute/gatk:4.2.6.1\n- class: ResourceRequirement\n  ramMin: 4096\n');
    writeFileSync(path.join(common, 'gatk-hints.yml'), '- class: ResourceRequirement\n  coresMin: 2\n');
    const p = await loadDocument(tool);
    expect(p.requirements).toEqual([
      { class: 'DockerRequirement', dockerPull: 'broadinstitute/gatk:4.2.6.1' },
      { class: 'ResourceRequirement', ramMin: 4096 },
      { class: 'InlineJavascriptRequirement' },
    ]);
    expect(p.hints).toEqual([{ class: 'ResourceRequirement', coresMin: 2 }]);
  });
});

const hasSuite = existsSync(path.join(suiteDir, 'conformance_tests.yaml'));
const skipNote = hasSuite ? '' : ' (skipped: no conformance suite at ../shared/cwl-v1.2)';

describe('validation over real documents', () => {
  it.skipIf(!hasSuite)(`accepts every conformance test document the suite expects to run${skipNote}`, async () => {
    const failures: string[] = [];
    for (const t of suiteTests(path.join(suiteDir, 'conformance_tests.yaml'))) {
      if (t.should_fail) continue;
      try {
        await loadDocument(t.tool);
      } catch (err) {
        failures.push(`${t.id}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it.skipIf(!hasSuite)(`rejects the documents cwltool's validator rejects${skipNote}`, async () => {
    const invalid = ['invalid_syntax_v10_uses_v12_tool', 'invalid_syntax_v11_uses_v12_tool', 'invalid_syntax_v10_uses_v12_workflow', 'invalid_syntax_v11_uses_v12_workflow', 'invalid_syntax_mixed_v12_workflow'];
    const byId = new Map(suiteTests(path.join(suiteDir, 'conformance_tests.yaml')).map((t) => [t.id, t]));
    const accepted: string[] = [];
    for (const id of invalid) {
      const t = byId.get(id);
      if (!t) throw new Error(`no conformance test ${id}`);
      if (await loadDocument(t.tool).then(() => true, () => false)) accepted.push(id);
    }
    expect(accepted).toEqual([]);
  });

  it('accepts every example in examples/', async () => {
    const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');
    const files = (readdirSync(examples, { recursive: true }) as string[]).filter((f) => f.endsWith('.cwl')).map((f) => path.join(examples, f));
    expect(files.length).toBeGreaterThan(2);
    const warnings: string[] = [];
    for (const f of files) await loadDocument(f, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
  });

  it('refuses a strand:TaskRetry hint whose retries is not a whole number, naming file and line (on a tool and on a step)', async () => {
    const tool = tmpFile(
      'retry.cwl',
      `cwlVersion: v1.2
$namespaces: {strand: "https://strand.dev/cwl#"}
class: CommandLineTool
hints:
  strand:TaskRetry: {retries: three}
baseCommand: "true"
inputs: []
outputs: []
`,
    );
    await expect(loadDocument(tool)).rejects.toThrow(/retry\.cwl:4:1: hints: strand:TaskRetry\.retries must be a whole number from 0 to 100, not "three"/);
    const wf = tmpFile(
      'retry-wf.cwl',
      `cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  s:
    hints: [{class: "strand:TaskRetry", retries: -2}]
    in: []
    out: []
    run: {class: CommandLineTool, baseCommand: "true", inputs: [], outputs: []}
`,
    );
    await expect(loadDocument(wf)).rejects.toThrow(/retry-wf\.cwl:7:\d+: hints: strand:TaskRetry\.retries must be a whole number from 0 to 100, not -2/);
    const good = tmpFile('retry-ok.cwl', `cwlVersion: v1.2\n$namespaces: {strand: "https://strand.dev/cwl#"}\nclass: CommandLineTool\nhints: {strand:TaskRetry: {retries: 2}}\nbaseCommand: "true"\ninputs: []\noutputs: []\n`);
    await expect(loadDocument(good)).resolves.toMatchObject({ class: 'CommandLineTool' });
  });
});

describe('the parse cache of a long-lived process', () => {
  it('loads a document again after it changed at the same path (a server loading an edited workflow), and a sub-document too', async () => {
    const tool = (word: string) => ['cwlVersion: v1.2', 'class: CommandLineTool', `baseCommand: [echo, ${word}]`, 'inputs: []', 'outputs: []'].join('\n');
    const file = tmpFile('tool.cwl', tool('first'));
    const command = async () => ((await loadDocument(file)) as unknown as { baseCommand: string[] }).baseCommand;
    expect(await command()).toEqual(['echo', 'first']);
    writeFileSync(file, tool('second-and-longer'));
    expect(await command()).toEqual(['echo', 'second-and-longer']);

    const dir = path.dirname(file);
    const wf = path.join(dir, 'wf.cwl');
    writeFileSync(wf, ['cwlVersion: v1.2', 'class: Workflow', 'inputs: []', 'outputs: []', 'steps:', '  s:', '    run: tool.cwl', '    in: []', '    out: []'].join('\n'));
    const stepTool = async () => ((await loadDocument(wf)) as unknown as { steps: Array<{ run: { baseCommand: string[] } }> }).steps[0]?.run.baseCommand;
    expect(await stepTool()).toEqual(['echo', 'second-and-longer']);
    writeFileSync(file, tool('third'));
    expect(await stepTool()).toEqual(['echo', 'third']);
  });

  it("names every local file a load used, parsed now or taken from the cache (what strand submit packs; the global list went stale in a server)", async () => {
    const dir = path.dirname(tmpFile('x', ''));
    writeFileSync(path.join(dir, 'tool.cwl'), ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: echo', 'inputs: []', 'outputs: []', 'requirements:', '  $import: reqs.yml'].join('\n'));
    writeFileSync(path.join(dir, 'reqs.yml'), '- class: InlineJavascriptRequirement\n  expressionLib: [{$include: lib.js}]\n');
    writeFileSync(path.join(dir, 'lib.js'), 'var f = 1;\n');
    const wf = path.join(dir, 'wf.cwl');
    writeFileSync(wf, ['cwlVersion: v1.2', 'class: Workflow', 'inputs: []', 'outputs: []', 'steps:', '  s:', '    run: tool.cwl', '    in: []', '    out: []'].join('\n'));
    const expected = ['lib.js', 'reqs.yml', 'tool.cwl', 'wf.cwl'].map((f) => path.join(dir, f));
    for (let i = 0; i < 2; i++) {
      const files = new Set<string>();
      await loadDocument(wf, { files });
      expect([...files].sort(), `load ${i + 1}`).toEqual(expected);
    }
  });
});
