/**
 * `parseDocument` in two steps with a check between them. The `yaml` package reads text into
 * tokens without recursion (its Parser keeps its own stack), then composes nodes recursively; a
 * few KB of `[[[[...` nested 20,000 deep exhausts V8's stack there (or in what walks the result
 * afterwards), which can abort the process. So the token tree's depth is measured first, with an
 * explicit stack, and a document nested deeper than MAX_NESTING_DEPTH is refused before composing.
 * Also used for JSON: JSON documents are YAML flow collections.
 */
import { Composer, Parser, YAMLParseError, type CST, type Document, type LineCounter } from 'yaml';
import { ValidationError } from '../errors.js';
import { MAX_NESTING_DEPTH } from './limits.js';

const OPTIONS = { uniqueKeys: false, prettyErrors: false, version: '1.2', intAsBigInt: true } as const;

/** The first document of `text`, as parseDocument(text, OPTIONS) reads it; throws when nested too deeply. */
export function parseYamlBounded(text: string, file: string, lineCounter: LineCounter): Document.Parsed {
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  const deep = firstTooDeep(tokens);
  if (deep) {
    const pos = lineCounter.linePos(deep.offset);
    throw new ValidationError(`nested more than ${MAX_NESTING_DEPTH} levels deep (mappings and lists inside each other); the loader reads no deeper`, {
      file,
      line: pos.line,
      column: pos.col,
    });
  }
  const composer = new Composer({ ...OPTIONS, lineCounter });
  let doc: Document.Parsed | undefined;
  for (const d of composer.compose(tokens, true, text.length)) {
    if (!doc) doc = d;
    else {
      // As parseDocument: one document per file.
      doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
      break;
    }
  }
  if (!doc) throw new ValidationError('invalid YAML: no document', { file });
  return doc;
}

/** The first collection token nested deeper than MAX_NESTING_DEPTH, if any (an explicit stack, no recursion). */
function firstTooDeep(tokens: CST.Token[]): CST.Token | undefined {
  const stack: Array<[CST.Token, number]> = tokens.map((t) => [t, 0]);
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [token, depth] = next;
    if (token.type === 'document') {
      if (token.value) stack.push([token.value, depth]);
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > MAX_NESTING_DEPTH) return token;
    for (const item of token.items) {
      if ('key' in item && item.key) stack.push([item.key, depth + 1]);
      if (item.value) stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}
