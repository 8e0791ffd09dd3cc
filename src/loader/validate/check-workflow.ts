/**
 * Static checks of a loaded workflow, as cwltool's workflow checker does them: sources that name
 * nothing, cycles between steps, step `out` names the tool does not have, required tool inputs a
 * step leaves unconnected, step inputs the tool does not have (a warning), and source/sink types
 * that cannot match (an error) or may not (a warning), with linkMerge, pickValue, scatter depth
 * and conditional steps taken into account. `valueFrom` makes a link unchecked.
 */
import type { SourceLocation } from '../../errors.js';
import type { CwlType, OutputParameter, Process, SecondaryFileSchema, Workflow, WorkflowStep, WorkflowStepInput } from '../../model/types.js';
import { Issues } from './issues.js';
import { locate, locateRaw, locateValue, originOf } from './locate.js';
import { canAssign, formatType, isOptional, type Endpoint } from './types.js';

type Raw = Record<string, unknown>;

function where(model: object, field: string | undefined, fieldPath: string, file: string): SourceLocation {
  return locate(model, field, fieldPath, file);
}

/** Where the value of a field of a model object is (for `source: x`, the `x`). */
function whereValue(model: object, field: string, fieldPath: string, file: string): SourceLocation {
  const o = originOf(model);
  return o ? locateValue(o.parsed, o.raw, field, fieldPath) : { file, fieldPath };
}

interface Source extends Endpoint {
  id: string;
  /** The step it comes from, when it is a step output. */
  step?: WorkflowStep;
  at: SourceLocation;
}

const stdType = (t: CwlType): CwlType => (t === ('stdout' as CwlType) || t === ('stderr' as CwlType) ? 'File' : t);

function wrapArray(t: CwlType, depth: number): CwlType {
  let out = t;
  for (let i = 0; i < depth; i++) out = { type: 'array', items: out };
  return out;
}

/** `inherited`: classes of the requirements and hints of the enclosing workflows and steps. */
export function checkWorkflow(wf: Workflow, issues: Issues, inherited: ReadonlySet<string> = new Set()): void {
  const file = wf.sourceFile;
  checkFeatures(wf, issues, inherited);
  const sources = new Map<string, Source>();
  wf.inputs.forEach((p) => sources.set(p.id, { id: p.id, type: p.type, secondaryFiles: p.secondaryFiles, at: where(p, 'id', `inputs.${p.id}`, file) }));
  for (const st of wf.steps) {
    const depth = st.scatter.length === 0 ? 0 : st.scatterMethod === 'nested_crossproduct' ? st.scatter.length : 1;
    const raw = originOf(st)?.raw as Raw | undefined;
    st.out.forEach((o, i) => {
      const at = raw && Array.isArray(raw.out) && originOf(st) ? locateRaw(originOf(st)!.parsed, raw.out, i, `steps.${st.id}.out.${o}`) : where(st, 'out', `steps.${st.id}.out`, file);
      const toolOut = st.run.outputs.find((x) => x.id === o);
      if (!toolOut) {
        issues.error(at, `step ${st.id} lists output "${o}", which ${runName(st)} does not have (its outputs: ${names(st.run.outputs)})`);
        return;
      }
      sources.set(`${st.id}/${o}`, { id: `${st.id}/${o}`, type: wrapArray(stdType(toolOut.type), depth), secondaryFiles: toolOut.secondaryFiles, step: st, at });
    });
  }

  for (const st of wf.steps) checkStep(wf, st, sources, issues);
  for (const o of wf.outputs) checkOutput(o, sources, issues, file);
  checkCycles(wf, issues);
}

function runName(st: WorkflowStep): string {
  const r = st.run;
  if (r.id.endsWith(`/${st.id}/run`)) return `the ${r.class} in step ${st.id}`;
  const file = r.sourceFile.replace(/^.*\//, '');
  const hash = r.id.lastIndexOf('#');
  return hash >= 0 ? `${file}#${r.id.slice(hash + 1)}` : file;
}

function names(list: Array<{ id: string }>): string {
  return list.length === 0 ? 'none' : list.map((x) => x.id).join(', ');
}

function checkStep(wf: Workflow, st: WorkflowStep, sources: Map<string, Source>, issues: Issues): void {
  const file = wf.sourceFile;
  const path = `steps.${st.id}`;
  const tool = st.run;
  const byId = new Map(st.in.map((i) => [i.id, i]));
  // Step inputs the tool does not have: cwltool warns, unless another input's valueFrom or `when` reads them.
  const expressions = [...st.in.map((i) => i.valueFrom ?? ''), st.when ?? ''].join('\n');
  for (const inp of st.in) {
    for (const src of inp.source) {
      if (!sources.has(src)) {
        issues.error(whereValue(inp, 'source', `${path}.in.${inp.id}.source`, file), `step ${st.id} input ${inp.id}: source "${src}" is not a workflow input or a step output`);
      }
    }
    if (!tool.inputs.some((t) => t.id === inp.id)) {
      const used = new RegExp(`inputs\\s*(\\.\\s*${escape(inp.id)}\\b|\\[\\s*['"]${escape(inp.id)}['"]\\s*\\])`).test(expressions);
      if (!used) issues.warn(where(inp, 'id', `${path}.in.${inp.id}`, file), `"${inp.id}" is not an input of ${runName(st)} (its inputs: ${names(tool.inputs)}); it is not passed to the tool`);
    }
  }
  // Required tool inputs with nothing to fill them.
  const missing = tool.inputs.filter((t) => {
    if (isOptional(t.type) || t.default !== undefined) return false;
    const e = byId.get(t.id);
    return !e || (e.source.length === 0 && e.default === undefined && e.valueFrom === undefined);
  });
  for (const t of missing) {
    const e = byId.get(t.id);
    const at = e ? where(e, 'id', `${path}.in.${t.id}`, file) : where(st, 'in', `${path}.in`, file);
    issues.error(at, `step ${st.id} does not give a value to the required input "${t.id}" (${formatType(t.type)}) of ${runName(st)}: add it to \`in\` with a source, a default or a valueFrom`);
  }
  // Types of each link.
  for (const inp of st.in) {
    const toolIn = tool.inputs.find((t) => t.id === inp.id);
    if (!toolIn || inp.source.length === 0) continue;
    const sinkType = st.scatter.includes(inp.id) ? wrapArray(toolIn.type, 1) : toolIn.type;
    checkLink(
      { id: inp.id, type: sinkType, secondaryFiles: toolIn.secondaryFiles },
      inp,
      sources,
      issues,
      whereValue(inp, 'source', `${path}.in.${inp.id}.source`, file),
      `step ${st.id} input ${inp.id}`,
    );
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function checkOutput(o: OutputParameter, sources: Map<string, Source>, issues: Issues, file: string): void {
  const srcs = o.outputSource ?? [];
  for (const src of srcs) {
    if (!sources.has(src)) issues.error(whereValue(o, 'outputSource', `outputs.${o.id}.outputSource`, file), `output ${o.id}: outputSource "${src}" is not a workflow input or a step output`);
  }
  if (srcs.length === 0) return;
  checkLink({ id: o.id, type: o.type, secondaryFiles: o.secondaryFiles }, { source: srcs, linkMerge: o.linkMerge, pickValue: o.pickValue, raw: originOf(o)?.raw as Raw | undefined, field: 'outputSource' }, sources, issues, whereValue(o, 'outputSource', `outputs.${o.id}.outputSource`, file), `output ${o.id}`);
}

interface Link {
  source: string[];
  linkMerge?: string;
  pickValue?: string;
  valueFrom?: string;
  raw?: Raw;
  field?: string;
}

function toLink(inp: WorkflowStepInput | Link): Link {
  if ('id' in inp) return { source: inp.source, linkMerge: inp.linkMerge, pickValue: inp.pickValue, valueFrom: inp.valueFrom, raw: originOf(inp)?.raw as Raw | undefined, field: 'source' };
  return inp;
}

/** cwltool's check_all_types for one sink. */
function checkLink(sink: Endpoint & { id: string }, link: WorkflowStepInput | Link, sources: Map<string, Source>, issues: Issues, at: SourceLocation, what: string): void {
  const l = toLink(link);
  if (l.valueFrom !== undefined) return;
  const writtenAsList = l.raw ? Array.isArray(l.raw[l.field ?? 'source']) : l.source.length > 1;
  const srcs = l.source.map((s) => sources.get(s)).filter((s): s is Source => s !== undefined);
  let linkMerge: string | undefined;
  const notes: string[] = [];
  if (l.pickValue) notes.push(`pickValue is ${l.pickValue}`);
  if (writtenAsList) {
    linkMerge = l.linkMerge ?? (l.source.length > 1 ? 'merge_nested' : undefined);
    if (l.pickValue === 'first_non_null' || l.pickValue === 'the_only_non_null') linkMerge = undefined;
    for (const s of srcs) {
      if (s.step?.when !== undefined && !l.pickValue) issues.warn(at, `${what}: source "${s.id}" is from a conditional step, but pickValue is not used`);
    }
  } else {
    if (l.pickValue) issues.warn(at, `${what}: pickValue is used but only a single source is declared`);
    const s = srcs[0];
    if (s?.step?.when !== undefined) {
      if (!isOptional(s.type)) srcs[0] = { ...s, type: ['null', ...(Array.isArray(s.type) ? s.type : [s.type])] };
      if (!isOptional(sink.type)) issues.warn(at, `${what}: source "${s.id}" is from a conditional step and may produce null, but ${formatType(sink.type)} is not optional`);
    }
  }
  for (const src of srcs) {
    const result = checkTypes(src, sink, linkMerge);
    if (result === 'pass') continue;
    const merge = linkMerge ? ` (merged by linkMerge ${linkMerge} into ${formatType(linkMerge === 'merge_nested' ? { type: 'array', items: src.type } : flatten(src.type))})` : '';
    const extra = notes.length ? `; ${notes.join('; ')}` : '';
    const srcAt = src.at.line !== undefined ? ` at line ${src.at.line}` : '';
    if (result === 'error') {
      issues.error(at, `${what}: source "${src.id}"${srcAt} of type ${formatType(src.type)} is incompatible with ${formatType(sink.type)}${merge}${extra}`);
    } else {
      const missing = missingSecondaryFiles(src.secondaryFiles, sink.secondaryFiles);
      if (missing.length > 0 && !linkMerge) {
        issues.warn(at, `${what} requires secondaryFiles ${missing.map((p) => `"${p}"`).join(', ')} but source "${src.id}" does not provide them: add them to the source's secondaryFiles or mark them required: false`);
      } else {
        issues.warn(at, `${what}: source "${src.id}"${srcAt} of type ${formatType(src.type)} may be incompatible with ${formatType(sink.type)}${merge}${extra}`);
      }
    }
  }
}

function missingSecondaryFiles(src: SecondaryFileSchema[] | undefined, sink: SecondaryFileSchema[] | undefined): string[] {
  const have = new Set((src ?? []).map((s) => s.pattern));
  return (sink ?? []).filter((s) => s.required !== false && !have.has(s.pattern)).map((s) => s.pattern);
}

/** cwltool's check_types: 'pass', 'warning' (may be incompatible) or 'error'. */
function checkTypes(src: Endpoint, sink: Endpoint, linkMerge: string | undefined): 'pass' | 'warning' | 'error' {
  if (linkMerge === 'merge_nested') return checkTypes({ type: { type: 'array', items: src.type } }, { type: sink.type }, undefined);
  if (linkMerge === 'merge_flattened') return checkTypes({ type: flatten(src.type) }, { type: sink.type }, undefined);
  if (canAssign(src, sink, true)) return 'pass';
  if (canAssign(src, sink, false)) return 'warning';
  return 'error';
}

function flatten(t: CwlType): CwlType {
  if (Array.isArray(t)) return t.map(flatten) as CwlType;
  if (typeof t === 'object' && t.type === 'array') return t;
  return { type: 'array', items: t };
}

/** Cycles between steps: `a` needs `b` needs `a`. */
function checkCycles(wf: Workflow, issues: Issues): void {
  const deps = new Map<string, Array<{ on: string; inp: WorkflowStepInput }>>();
  for (const st of wf.steps) {
    deps.set(
      st.id,
      st.in.flatMap((inp) => inp.source.filter((s) => s.includes('/')).map((s) => ({ on: s.slice(0, s.indexOf('/')), inp }))),
    );
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, 'open');
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      if (!deps.has(d.on)) continue;
      if (state.get(d.on) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(d.on)), d.on];
        const key = [...cycle.slice(0, -1)].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          issues.error(
            whereValue(d.inp, 'source', `steps.${id}.in.${d.inp.id}.source`, wf.sourceFile),
            `steps ${cycle.join(' -> ')} form a cycle: each waits for the other's outputs`,
          );
        }
      } else if (!state.has(d.on)) visit(d.on);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const st of wf.steps) if (!state.has(st.id)) visit(st.id);
}

const classes = (reqs: Array<{ class: string }>) => reqs.map((r) => r.class);

/** cwltool refuses scatter, several sources, valueFrom and subworkflows without their feature requirement (as requirement or hint, inherited too). */
function checkFeatures(wf: Workflow, issues: Issues, inherited: ReadonlySet<string>): void {
  const file = wf.sourceFile;
  for (const st of wf.steps) {
    const have = new Set([...inherited, ...classes(wf.requirements), ...classes(wf.hints), ...classes(st.requirements), ...classes(st.hints)]);
    const need = (cls: string, at: SourceLocation, what: string) => {
      if (!have.has(cls)) issues.error(at, `${what} needs ${cls} in the requirements of the workflow or the step`);
    };
    if (st.scatter.length > 0) need('ScatterFeatureRequirement', where(st, 'scatter', `steps.${st.id}.scatter`, file), `step ${st.id} scatters, which`);
    if (st.scatter.length > 1 && st.scatterMethod === undefined) {
      issues.error(where(st, 'scatter', `steps.${st.id}.scatter`, file), `step ${st.id} scatters over several inputs (${st.scatter.join(', ')}): say how to combine them with scatterMethod (dotproduct, nested_crossproduct or flat_crossproduct)`);
    }
    if (st.run.class === 'Workflow') need('SubworkflowFeatureRequirement', where(st, 'run', `steps.${st.id}.run`, file), `step ${st.id} runs a workflow, which`);
    for (const inp of st.in) {
      if (inp.source.length > 1) need('MultipleInputFeatureRequirement', whereValue(inp, 'source', `steps.${st.id}.in.${inp.id}.source`, file), `step ${st.id} input ${inp.id} has several sources, which`);
      if (inp.valueFrom !== undefined) need('StepInputExpressionRequirement', where(inp, 'valueFrom', `steps.${st.id}.in.${inp.id}.valueFrom`, file), `step ${st.id} input ${inp.id} has a valueFrom, which`);
    }
  }
}

/** Every workflow reachable from `root`, each once per set of inherited requirement classes. */
export function workflowsOf(root: Process): Array<{ wf: Workflow; inherited: Set<string> }> {
  const seen = new Map<Process, string>();
  const out: Array<{ wf: Workflow; inherited: Set<string> }> = [];
  const walk = (p: Process, inherited: Set<string>) => {
    const key = [...inherited].sort().join(',');
    if (seen.get(p) === key) return;
    seen.set(p, key);
    if (p.class !== 'Workflow') return;
    out.push({ wf: p, inherited });
    for (const s of p.steps) {
      walk(s.run, new Set([...inherited, ...classes(p.requirements), ...classes(p.hints), ...classes(s.requirements), ...classes(s.hints)]));
    }
  };
  walk(root, new Set());
  return out;
}
