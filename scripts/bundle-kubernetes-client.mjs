#!/usr/bin/env node
// Bundles @kubernetes/client-node into one minified file, dist/vendor/kubernetes-client.js, which
// src/cluster/kubernetes-client.ts loads when built. Loading the package's ~970 modules one by one
// took 0.8 s (1.1 s of CPU) at the start of every Kubernetes command; the bundle takes 0.35 s.
// The packages it holds keep their licence files in node_modules. Run by `npm run build`.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'dist', 'vendor');
mkdirSync(out, { recursive: true });
await build({
  stdin: { contents: "export * from '@kubernetes/client-node';", resolveDir: root, loader: 'js' },
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Some of its dependencies are CommonJS that call require() for Node's own modules.
  banner: { js: "import { createRequire as __strandRequire } from 'node:module'; const require = __strandRequire(import.meta.url);" },
  outfile: path.join(out, 'kubernetes-client.js'),
  legalComments: 'linked',
  logLevel: 'warning',
});
