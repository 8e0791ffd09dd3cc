/**
 * PyYAML and ruamel (which cwltool uses) accept continuation lines indented less than YAML 1.2
 * allows, where the `yaml` package (strict) refuses them:
 * - a flow collection continued under its parent key, as `args: [a, b,\n    c]` under a deeper key;
 * - a multi-line quoted scalar closed at its key's indentation, as published tools write
 *   expressions: `valueFrom: '${\n  return 1;\n}'` with `}'` under `valueFrom`.
 * Re-indent such continuation lines so both read the same documents. The value does not change:
 * a quoted scalar folds the leading spaces of its continuation lines away, and a flow collection
 * ignores them. Block scalars (`|`, `>`) are left as they are. Line numbers are unchanged. Used
 * only to read again a document the strict parse refused (fetch.ts).
 */
export function reindentContinuations(text: string): string {
  const lines = text.split('\n');
  let depth = 0; // open flow collections
  let flowNeed = 0; // indentation their continuation lines need
  let quote: string | undefined; // a quoted scalar open across lines
  let quoteNeed = 0;
  let blockIndent: number | undefined; // inside a block scalar whose parent line has this indentation
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n] as string;
    const have = line.length - line.trimStart().length;
    if (blockIndent !== undefined) {
      if (line.trim() === '' || have > blockIndent) continue;
      blockIndent = undefined;
    }
    const need = Math.max(quote ? quoteNeed : 0, depth > 0 ? flowNeed : 0);
    if ((quote || depth > 0) && line.trim() !== '' && have < need) {
      line = ' '.repeat(need) + line.trimStart();
      lines[n] = line;
    }
    const startDepth = depth;
    const startQuote = quote;
    let commentAt = line.length;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === "'" && quote === "'" && line[i + 1] === "'") i++; // '' is a quote inside single quotes
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
        commentAt = i;
        break;
      }
      if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(line[i - 1] ?? ''))) quote = c;
      else if (c === '[' || c === '{') depth++;
      else if ((c === ']' || c === '}') && depth > 0) depth--;
    }
    const indent = line.length - line.trimStart().length;
    if (startDepth === 0 && depth > 0) flowNeed = indent + 2;
    // Continuation lines of a quoted scalar must be indented past the key it is the value of
    // (the key's column: after the indentation and any `- ` of list items).
    if (!startQuote && quote) quoteNeed = (/^\s*(?:-\s+)*/.exec(line)?.[0].length ?? indent) + 1;
    // A block scalar header (`key: |`, `- >-`): its content is not YAML to scan.
    if (!quote && depth === 0 && /(?:^|[\s:])[|>][-+0-9]*\s*$/.test(line.slice(0, commentAt))) blockIndent = indent;
    // A block scalar or plain text can't open a flow collection across lines reliably; give up at a blank line.
    if (depth > 0 && line.trim() === '') depth = 0;
  }
  return lines.join('\n');
}

/** The former name (the conformance runner reads the suite's index with it). */
export const reindentFlowContinuations = reindentContinuations;
