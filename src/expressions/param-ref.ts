/**
 * Parameter references without JavaScript: `inputs.x.y`, `inputs['x']`, `self[0].path`,
 * `runtime.outdir`, `.length`, and the lone symbol `null` (as in cwltool). Quoted segments take
 * the escapes of the spec's grammar (`\'`, `\"`, `\\`, `\n`, ...). Anything else is not a parameter
 * reference.
 */
import type { CwlValue } from '../model/types.js';

const SEGMENT = /^(?:\.([A-Za-z_][A-Za-z0-9_]*)|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\])/;

/** Parse `inputs.a['b'][0]` into ['inputs','a','b',0]; undefined when it isn't a reference. */
export function parseParamRef(code: string): Array<string | number> | undefined {
  const s = code.trim();
  if (s === 'null') return ['null'];
  const head = /^(inputs|self|runtime)/.exec(s);
  if (!head) return undefined;
  const path: Array<string | number> = [head[1] as string];
  let rest = s.slice(head[0].length);
  while (rest.length > 0) {
    const m = SEGMENT.exec(rest);
    if (!m) return undefined;
    if (m[1] !== undefined) path.push(m[1]);
    else if (m[2] !== undefined) path.push(unescape(m[2]));
    else if (m[3] !== undefined) path.push(unescape(m[3]));
    else if (m[4] !== undefined) path.push(Number(m[4]));
    rest = rest.slice(m[0].length);
  }
  return path;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };

/** The text of a quoted segment: `\x` is x, except the control escapes and `\uXXXX`. */
function unescape(quoted: string): string {
  return quoted.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) =>
    c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : (ESCAPES[c] ?? c),
  );
}

export function resolveParamRef(path: Array<string | number>, root: Record<string, CwlValue | undefined>): CwlValue {
  let cur: unknown = root[path[0] as string];
  // Like cwltool: an input the process does not declare is an error, not null.
  const input = path[1];
  if (path[0] === 'inputs' && typeof input === 'string' && isRecord(cur) && !(input in cur)) {
    throw new TypeError(`"${input}" is not an input of this process (its inputs: ${Object.keys(cur).join(', ') || 'none'})`);
  }
  for (const key of path.slice(1)) {
    if (cur === null || cur === undefined) throw new TypeError(`cannot read "${String(key)}" of ${cur === null ? 'null' : 'undefined'}`);
    if (key === 'length' && (Array.isArray(cur) || typeof cur === 'string')) {
      cur = cur.length;
      continue;
    }
    if (typeof cur !== 'object') throw new TypeError(`cannot read "${String(key)}" of a ${typeof cur}`);
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur === undefined ? null : (cur as CwlValue);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
