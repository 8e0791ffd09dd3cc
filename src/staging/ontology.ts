/**
 * The ontologies named by a document's `$schemas` (EDAM and the like), read once per file:
 * RDF/XML with rdfxml-streaming-parser, Turtle/N-Triples/N3 with n3. Only local files are read
 * (Strand works offline); only rdfs:subClassOf and owl:equivalentClass are kept, which is all
 * that format checking needs. The parsers are imported when a document has `$schemas` (~100 ms
 * of start-up otherwise paid by every run).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const SUBCLASS_OF = 'http://www.w3.org/2000/01/rdf-schema#subClassOf';
const EQUIVALENT = 'http://www.w3.org/2002/07/owl#equivalentClass';

export interface Ontology {
  /** class -> its direct superclasses */
  superclasses: Map<string, Set<string>>;
  /** class -> classes it is declared equivalent to, both ways */
  equivalents: Map<string, Set<string>>;
}

interface Triple {
  subject: string;
  predicate: string;
  object: string;
}

const cache = new Map<string, Promise<Ontology>>();

function add(map: Map<string, Set<string>>, k: string, v: string): void {
  let s = map.get(k);
  if (!s) map.set(k, (s = new Set()));
  s.add(v);
}

function fromTriples(triples: Iterable<Triple>, into: Ontology): void {
  for (const t of triples) {
    if (t.predicate === SUBCLASS_OF) add(into.superclasses, t.subject, t.object);
    else if (t.predicate === EQUIVALENT) {
      add(into.equivalents, t.subject, t.object);
      add(into.equivalents, t.object, t.subject);
    }
  }
}

function isTurtle(uri: string, text: string): boolean {
  if (/\.(ttl|turtle|n3|nt)$/i.test(uri)) return true;
  if (/\.(owl|rdf|xml)$/i.test(uri)) return false;
  return !/^\s*<(\?xml|rdf:RDF|!DOCTYPE)/.test(text);
}

async function parseRdfXml(text: string, baseIRI: string): Promise<Triple[]> {
  const { RdfXmlParser } = await import('rdfxml-streaming-parser');
  return new Promise((resolve, reject) => {
    const out: Triple[] = [];
    const parser = new RdfXmlParser({ baseIRI });
    parser.on('data', (q: { subject: { value: string }; predicate: { value: string }; object: { value: string } }) => {
      if (q.predicate.value === SUBCLASS_OF || q.predicate.value === EQUIVALENT) {
        out.push({ subject: q.subject.value, predicate: q.predicate.value, object: q.object.value });
      }
    });
    parser.on('error', reject);
    parser.on('end', () => resolve(out));
    parser.write(text);
    parser.end();
  });
}

async function readOne(uri: string): Promise<Triple[]> {
  const text = await readFile(fileURLToPath(uri), 'utf8');
  if (isTurtle(uri, text)) {
    const { Parser: TurtleParser } = await import('n3');
    return new TurtleParser({ baseIRI: uri }).parse(text).map((q) => ({ subject: q.subject.value, predicate: q.predicate.value, object: q.object.value }));
  }
  return parseRdfXml(text, uri);
}

/**
 * The union of the ontologies at `uris`. A schema that is not a local file, or cannot be read or
 * parsed, is left out and named in `skipped` (then only exact format matches count for it).
 */
export async function loadOntology(uris: readonly string[]): Promise<{ ontology: Ontology; skipped: string[] }> {
  const ontology: Ontology = { superclasses: new Map(), equivalents: new Map() };
  const skipped: string[] = [];
  for (const uri of uris) {
    if (!uri.startsWith('file:')) {
      skipped.push(`${uri} (not a local file)`);
      continue;
    }
    let p = cache.get(uri);
    if (!p) {
      p = readOne(uri).then((triples) => {
        const one: Ontology = { superclasses: new Map(), equivalents: new Map() };
        fromTriples(triples, one);
        return one;
      });
      cache.set(uri, p);
    }
    try {
      const one = await p;
      for (const [k, v] of one.superclasses) for (const x of v) add(ontology.superclasses, k, x);
      for (const [k, v] of one.equivalents) for (const x of v) add(ontology.equivalents, k, x);
    } catch (err) {
      skipped.push(`${uri} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return { ontology, skipped };
}

/** cwltool's formatSubclassOf: `fmt` is `cls`, or reaches it through subclass/equivalence links. */
export function isFormatOf(fmt: string, cls: string, ontology: Ontology, visited = new Set<string>()): boolean {
  if (fmt === cls) return true;
  if (visited.has(fmt)) return false;
  visited.add(fmt);
  for (const next of [...(ontology.superclasses.get(fmt) ?? []), ...(ontology.equivalents.get(fmt) ?? [])]) {
    if (isFormatOf(next, cls, ontology, visited)) return true;
  }
  return false;
}
