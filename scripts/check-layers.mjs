#!/usr/bin/env node
// Keeps src/ one-way: each layer may import only the layers listed for it, and no module imports
// itself through a cycle. Reads relative imports with a regular expression (the project writes
// `import ... from './x.js'`), resolving `.js` to the `.ts` source. Exits 1 on any violation.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'src');

// layer -> layers it may import (errors.ts and model are allowed everywhere but noted explicitly).
const allowed = {
  model: ['model'],
  expressions: ['expressions', 'model'],
  loader: ['loader', 'model'],
  // Executors may reach object stores (a Kubernetes task's inputs and outputs in a bucket).
  // and, for rebuilding a pod's files on this machine, the one confinement rule (issue 16), and
  // the confined reader for a failed task's log tail, and the stand-ins of objects its pods read in place,
  // and the bytes of file names that are not UTF-8 (stdin/stdout files).
  // Cluster access shared by the Kubernetes executor, strand submit and a server: connection, API
  // client and rate limit, names and labels, RBAC, pod logs, the leader Job's manifests and calls.
  cluster: ['cluster'],
  executor: ['executor', 'cluster', 'storage', 'staging/confine.ts', 'staging/confined-read.ts', 'staging/stand-ins.ts', 'staging/raw-names.ts'],
  staging: ['staging', 'model', 'expressions'],
  engine: ['engine', 'model', 'expressions', 'staging', 'cache', 'executor/executor.ts'],
  cache: ['cache', 'staging', 'model'],
  store: ['store', 'engine/events.ts', 'executor/executor.ts', 'model'],
  progress: ['progress', 'engine/events.ts', 'executor/executor.ts', 'model'],
  config: ['config'],
  // Remote data: s3:// and http(s)://; the engine and staging never import it.
  storage: ['storage', 'config/storage-settings.ts'],
  report: ['report', 'store', 'model', 'engine/events.ts', 'executor/executor.ts'],
  // The dashboard reads logs a task may have written through the same confined reader, and runs
  // through the run service's reads (a front end: it asks as its viewer).
  ui: ['ui', 'store', 'model', 'report', 'engine/events.ts', 'executor/executor.ts', 'staging/confined-read.ts', 'api/run-reads.ts', 'api/principal.ts', 'api/bearer-token.ts'],
  // The lab server (issue 19): WES and Strand's own API over the run service. It loads what members
  // submit (loader, with its root) and checks the files their parameters name (staging/confine.ts).
  server: ['server', 'api', 'store', 'model', 'cluster', 'config', 'loader', 'staging/confine.ts', 'engine/events.ts', 'executor/executor.ts'],
  api: ['*'],
  cli: ['*'],
  'index.ts': ['*'],
  'errors.ts': [],
};

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

const layerOf = (rel) => (rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel);
const graph = new Map();
const problems = [];
for (const file of files(root)) {
  const rel = path.relative(root, file);
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\(\s*['"](\.[^'"]+)['"]/gm)) {
    const spec = m[1] ?? m[2];
    const target = path.relative(root, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    deps.push(target);
    if (target === 'errors.ts') continue;
    const rules = allowed[layerOf(rel)] ?? [];
    const ok = rules.includes('*') || rules.some((r) => (r.endsWith('.ts') ? target === r : layerOf(target) === r));
    // Lazy imports of backends from the executor registry are the registry's job.
    if (!ok) problems.push(`${rel} imports ${target}: ${layerOf(rel)}/ may import only ${rules.join(', ') || 'errors.ts'}`);
  }
  graph.set(rel, deps);
  // Only the storage layer talks to object stores.
  if (/from\s+['"]@aws-sdk\/|import\(\s*['"]@aws-sdk\//.test(text) && !rel.startsWith('storage/')) {
    problems.push(`${rel} imports the AWS SDK: only storage/ may`);
  }
  // Only the Kubernetes backend and the cluster layer talk to a cluster.
  if (/from\s+['"]@kubernetes\/client-node['"]|import\(\s*['"]@kubernetes\/client-node['"]/.test(text) && !rel.startsWith('executor/kubernetes/') && !rel.startsWith('cluster/')) {
    problems.push(`${rel} imports @kubernetes/client-node: only executor/kubernetes/ and cluster/ may`);
  }
}

// Cycle detection (depth-first search with colours).
const colour = new Map();
const stack = [];
function visit(n) {
  colour.set(n, 'grey');
  stack.push(n);
  for (const d of graph.get(n) ?? []) {
    if (!graph.has(d)) continue;
    if (colour.get(d) === 'grey') problems.push(`import cycle: ${[...stack.slice(stack.indexOf(d)), d].join(' -> ')}`);
    else if (!colour.has(d)) visit(d);
  }
  stack.pop();
  colour.set(n, 'black');
}
for (const n of graph.keys()) if (!colour.has(n)) visit(n);

if (problems.length > 0) {
  console.error(`check-layers: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-layers: ${graph.size} modules, layers one-way, no import cycles`);
