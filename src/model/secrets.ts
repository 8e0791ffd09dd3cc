/**
 * cwltool's `Secrets` extension (`cwltool:Secrets`, hint or requirement): `secrets` names inputs of
 * the process whose values (strings) are sensitive. The tool still gets the real value (argv, env,
 * InitialWorkDir files); everything Strand shows or keeps (run store, progress and debug lines,
 * `--dry-run`, reports, the dashboard API, error messages) has it replaced by `(secret-<input>)`.
 *
 * The mask works on values, not on input names: any string Strand is about to show or keep has
 * every occurrence of a registered secret value replaced, however the value got there (a command
 * line option `--password=...`, an environment variable, a message). What a tool derives from a
 * secret (`$(inputs.pw.toUpperCase())`, a hash) is not the value and is not masked.
 * Pure: no I/O.
 */
import type { EffectiveRequirements } from './requirements.js';
import type { CwlValue, InputParameter, Process, Requirement } from './types.js';

export const SECRETS_CLASS = 'http://commonwl.org/cwltool#Secrets';

/** Whether `cls` names cwltool's Secrets (expanded, or with the prefix the loader could not expand). */
export function isSecretsClass(cls: string): boolean {
  return cls === SECRETS_CLASS || cls === 'cwltool:Secrets';
}

/** `#main/pw`, `file:///x.cwl#pw`, `pw` -> `pw`. */
export function shortInputName(id: string): string {
  const afterHash = id.slice(id.lastIndexOf('#') + 1);
  return afterHash.slice(afterHash.lastIndexOf('/') + 1);
}

/** The Secrets hints and requirements among `reqs`. */
function secretsEntries(reqs: readonly Requirement[]): Requirement[] {
  return reqs.filter((r) => isSecretsClass(r.class));
}

/** Input names `secrets` lists in the Secrets hints and requirements in force (short names). */
export function secretInputNames(eff: EffectiveRequirements): string[] {
  const names = new Set<string>();
  for (const r of secretsEntries([...eff.requirements, ...eff.hints])) {
    const list = r.secrets;
    if (Array.isArray(list)) for (const s of list) if (typeof s === 'string') names.add(shortInputName(s));
  }
  return [...names];
}

/**
 * Inputs of a workflow that are not named by its own Secrets entry but feed, through a step's
 * `source`, an input a step's process declares secret (at any depth): their values are the same
 * secrets, and must be masked from the start (in the run's recorded input object) rather than
 * only once that step starts.
 */
export function inputsFeedingSecrets(p: Process, memo = new Map<Process, string[]>()): string[] {
  const known = memo.get(p);
  if (known) return known;
  memo.set(p, []); // a process reached again through itself adds nothing
  const found = new Set<string>();
  if (p.class === 'Workflow') {
    for (const st of p.steps) {
      const inner = new Set([...secretInputNames({ requirements: st.run.requirements, hints: st.run.hints }), ...inputsFeedingSecrets(st.run, memo)]);
      for (const i of st.in) if (inner.has(i.id)) for (const src of i.source) if (!src.includes('/')) found.add(src);
    }
  }
  const names = [...found];
  memo.set(p, names);
  return names;
}

function isStringType(t: unknown): boolean {
  if (t === 'string') return true;
  // `string?` after loading: ['null', 'string'].
  return Array.isArray(t) && t.length === 2 && t.includes('null') && t.includes('string');
}

/**
 * What is wrong with the Secrets entries of a process (its own hints and requirements): `secrets`
 * must be a list of names of its inputs of type `string` (or `string?`), as cwltool's SecretStore
 * only holds strings.
 */
export function secretsProblems(reqs: readonly Requirement[], inputs: readonly InputParameter[]): string[] {
  const problems: string[] = [];
  for (const r of secretsEntries(reqs)) {
    if (!Array.isArray(r.secrets) || r.secrets.some((s) => typeof s !== 'string')) {
      problems.push('cwltool:Secrets: `secrets` must be a list of input names');
      continue;
    }
    for (const s of r.secrets as string[]) {
      const name = shortInputName(s);
      const input = inputs.find((i) => shortInputName(i.id) === name);
      if (!input) problems.push(`cwltool:Secrets names "${name}", which is not an input of this process`);
      else if (!isStringType(input.type)) problems.push(`cwltool:Secrets: input "${name}" must be of type string (secrets are strings)`);
    }
  }
  return problems;
}

/** The placeholder shown instead of a secret value. */
export const secretPlaceholder = (name: string): string => `(secret-${name})`;

/** Whether `v` is a placeholder left where a secret was (e.g. in a recorded input object). */
export function isSecretPlaceholder(v: unknown): boolean {
  return typeof v === 'string' && /^\(secret-[^()]*\)$/.test(v);
}

/**
 * The secret values of one run, growing as processes with a Secrets hint receive their inputs.
 * `mask` replaces every occurrence of each value (longest first, so a secret containing another is
 * replaced whole) in strings, and in the strings inside arrays and plain objects.
 */
export class SecretMask {
  private readonly byValue = new Map<string, string>();
  private ordered: Array<[string, string]> = [];

  get size(): number {
    return this.byValue.size;
  }

  /**
   * Remember the value of input `name`. Empty strings are not secrets (masking them means nothing).
   * The forms the value takes once written out are masked too: escaped in JSON, inside a
   * single-quoted shell word (`--dry-run`), with `$(` doubled (a Kubernetes manifest).
   */
  add(name: string, value: string): void {
    if (value === '' || this.byValue.has(value)) return;
    const forms = [value, JSON.stringify(value).slice(1, -1), value.replace(/'/g, `'\\''`), value.replace(/\$\(/g, '$$$$(')];
    for (const f of forms) if (!this.byValue.has(f)) this.byValue.set(f, name);
    this.ordered = [...this.byValue.entries()].sort((a, b) => b[0].length - a[0].length);
  }

  /**
   * Register the values of the inputs `names` of `inputs` (a job object). A value that is not a
   * string (null aside) is an error message, as secrets are strings.
   */
  addInputs(names: readonly string[], inputs: Readonly<Record<string, CwlValue | undefined>>): string | undefined {
    for (const name of names) {
      const v = inputs[name];
      if (v === null || v === undefined) continue;
      if (typeof v !== 'string') return `secret input "${name}" must be a string`;
      this.add(name, v);
    }
    return undefined;
  }

  /** `text` with every secret value replaced by `replace(name, value)` (by default the placeholder). */
  maskText(text: string, replace: (name: string, value: string) => string = secretPlaceholder): string {
    if (this.ordered.length === 0) return text;
    let out = text;
    for (const [value, name] of this.ordered) if (out.includes(value)) out = out.split(value).join(replace(name, value));
    return out;
  }

  /** `v` with secret values masked in every string it holds (a copy when anything changed; Dates and the like kept). */
  mask<T>(v: T, replace?: (name: string, value: string) => string): T {
    if (this.ordered.length === 0) return v;
    return this.deep(v, replace) as T;
  }

  private deep(v: unknown, replace: ((name: string, value: string) => string) | undefined): unknown {
    if (typeof v === 'string') return this.maskText(v, replace);
    if (Array.isArray(v)) {
      const out = v.map((x) => this.deep(x, replace));
      return out.some((x, i) => x !== v[i]) ? out : v;
    }
    if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
      let changed = false;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const key = this.maskText(k, replace);
        const y = this.deep(x, replace);
        if (key !== k || y !== x) changed = true;
        out[key] = y;
      }
      return changed ? out : v;
    }
    return v;
  }
}
