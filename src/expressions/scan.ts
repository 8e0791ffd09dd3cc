/**
 * Splitting a CWL string into literal text and `$(...)` / `${...}` expressions, with the spec's
 * escaping (`\$(` is a literal `$(`). Scanning respects JavaScript strings inside expressions.
 */
export type Segment = { kind: 'text'; text: string } | { kind: 'paren' | 'brace'; code: string; source: string };

/** Index just past the bracket that closes the one at `start`, or -1. */
function findClose(s: string, start: number): number {
  const open = s[start];
  const close = open === '(' ? ')' : '}';
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'" || c === '`') {
      const q = c;
      i++;
      while (i < s.length && s[i] !== q) {
        if (s[i] === '\\') i++;
        i++;
      }
      continue;
    }
    if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') {
      depth--;
      if (depth === 0) return c === close ? i + 1 : -1;
    }
  }
  return -1;
}

export function scanExpressions(s: string): Segment[] {
  const out: Segment[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\' && s[i + 1] === '$' && (s[i + 2] === '(' || s[i + 2] === '{')) {
      text += '$';
      i += 2;
      continue;
    }
    if (c === '\\' && s[i + 1] === '\\') {
      text += '\\';
      i += 2;
      continue;
    }
    if (c === '$' && (s[i + 1] === '(' || s[i + 1] === '{')) {
      const end = findClose(s, i + 1);
      if (end > 0) {
        if (text) out.push({ kind: 'text', text });
        text = '';
        out.push({ kind: s[i + 1] === '(' ? 'paren' : 'brace', code: s.slice(i + 2, end - 1), source: s.slice(i, end) });
        i = end;
        continue;
      }
    }
    text += c;
    i++;
  }
  if (text) out.push({ kind: 'text', text });
  return out;
}

export function containsExpression(s: string): boolean {
  return s.includes('$(') || s.includes('${');
}
