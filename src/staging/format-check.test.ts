/**
 * Input format checking: exact matches, subclasses and equivalent classes from ontologies in
 * RDF/XML and in Turtle (small ones written here), record fields and array items, prefixed names.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { createEvaluator } from '../expressions/index.js';
import type { CommandLineTool, CwlObject } from '../model/types.js';
import { checkInputFormats } from './format-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'strand-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const owl = path.join(dir, 'formats.owl');
writeFileSync(
  owl,
  `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
         xmlns:owl="http://www.w3.org/2002/07/owl#">
  <owl:Class rdf:about="http://example.org/fmt/sequence"/>
  <owl:Class rdf:about="http://example.org/fmt/fasta">
    <rdfs:subClassOf rdf:resource="http://example.org/fmt/sequence"/>
  </owl:Class>
  <owl:Class rdf:about="http://example.org/fmt/multifasta">
    <rdfs:subClassOf rdf:resource="http://example.org/fmt/fasta"/>
  </owl:Class>
</rdf:RDF>
`,
);
const ttl = path.join(dir, 'extra.ttl');
writeFileSync(
  ttl,
  `@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix gx: <http://galaxy.example/formats/> .
gx:fa owl:equivalentClass <http://example.org/fmt/fasta> .
`,
);

const evaluator = createEvaluator({ inlineJavascript: false, expressionLib: [] });

function tool(over: Partial<CommandLineTool>): CommandLineTool {
  return {
    id: 'file:///t.cwl',
    class: 'CommandLineTool',
    cwlVersion: 'v1.2',
    inputs: [],
    outputs: [],
    requirements: [],
    hints: [],
    sourceFile: '/t.cwl',
    namespaces: { fmt: 'http://example.org/fmt/' },
    schemaDefs: {},
    schemas: [pathToFileURL(owl).href, pathToFileURL(ttl).href],
    baseCommand: ['true'],
    arguments: [],
    successCodes: [],
    temporaryFailCodes: [],
    permanentFailCodes: [],
    ...over,
  };
}

const file = (format?: string): CwlObject => ({ class: 'File', location: 'file:///d/x', basename: 'x', ...(format ? { format } : {}) });

async function failure(t: CommandLineTool, inputs: CwlObject): Promise<string> {
  try {
    await checkInputFormats(t, inputs, evaluator);
  } catch (err) {
    if (err instanceof InputError) return err.message;
    throw err;
  }
  return 'accepted';
}

describe('checkInputFormats', () => {
  const seq = tool({ inputs: [{ id: 'reads', type: 'File', format: 'fmt:sequence' }] });

  it('accepts the same format, a subclass (transitively) and an equivalent class', async () => {
    expect(await failure(seq, { reads: file('http://example.org/fmt/sequence') })).toBe('accepted');
    expect(await failure(seq, { reads: file('fmt:multifasta') })).toBe('accepted');
    expect(await failure(seq, { reads: file('http://galaxy.example/formats/fa') })).toBe('accepted');
  });

  it('rejects another format, a superclass, and a File without format', async () => {
    const fasta = tool({ inputs: [{ id: 'reads', type: 'File', format: 'fmt:fasta' }] });
    expect(await failure(fasta, { reads: file('http://example.org/fmt/sequence') })).toBe(
      'input reads: x has format http://example.org/fmt/sequence, but reads takes http://example.org/fmt/fasta (nor a subclass or equivalent of one in $schemas)',
    );
    expect(await failure(fasta, { reads: file('http://example.org/other') })).toMatch(/has format http:\/\/example.org\/other, but reads takes/);
    expect(await failure(fasta, { reads: file() })).toBe('input reads: x has no format, but reads takes http://example.org/fmt/fasta');
  });

  it('checks record fields and each item of an array, and leaves unset inputs alone', async () => {
    const t = tool({
      inputs: [
        {
          id: 'rec',
          type: {
            type: 'record',
            fields: [
              { name: 'one', type: 'File', format: 'fmt:fasta' },
              { name: 'many', type: { type: 'array', items: 'File' }, format: ['fmt:sequence'] },
            ],
          },
        },
        { id: 'opt', type: ['null', 'File'], format: 'fmt:fasta' },
      ],
    });
    const good = { one: file('fmt:fasta'), many: [file('fmt:fasta'), file('fmt:sequence')] };
    expect(await failure(t, { rec: good, opt: null })).toBe('accepted');
    expect(await failure(t, { rec: { ...good, many: [file('fmt:fasta'), file('http://example.org/zzz')] }, opt: null })).toMatch(/^input rec\.many: x has format http:\/\/example.org\/zzz/);
  });
});
