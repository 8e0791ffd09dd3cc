/**
 * PyYAML (which cwltool uses) accepts flow collections whose continuation lines are indented less
 * than their parent key, as in `args: [a, b,\n    c]` under a deeper key; the `yaml` package (YAML
 * 1.2, strict) rejects them. Re-indent such continuation lines so both read the same documents.
 * Line numbers are unchanged.
 */
export function reindentFlowContinuations(text: string): string {
  const lines = text.split('\n');
  let depth = 0;
  let openIndent = 0;
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n] as string;
    if (depth > 0) {
      const need = openIndent + 2;
      const have = line.length - line.trimStart().length;
      if (line.trim() !== '' && have < need) line = ' '.repeat(need) + line.trimStart();
      lines[n] = line;
    }
    const startDepth = depth;
    let quote: string | undefined;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) break;
      if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(line[i - 1] ?? ''))) quote = c;
      else if (c === '[' || c === '{') depth++;
      else if ((c === ']' || c === '}') && depth > 0) depth--;
    }
    if (startDepth === 0 && depth > 0) openIndent = line.length - line.trimStart().length;
    // A block scalar or plain text can't open a flow collection across lines reliably; give up at a blank line.
    if (depth > 0 && line.trim() === '') depth = 0;
  }
  return lines.join('\n');
}
