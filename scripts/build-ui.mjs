#!/usr/bin/env node
// Bundles the dashboard page (web/) into dist/ui with esbuild: one minified app.js (Preact, htm,
// dagre inside: no CDN at run time), app.css and index.html. Run by `npm run build`.
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'dist', 'ui');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'web', 'app.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  outfile: path.join(out, 'app.js'),
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(path.join(root, 'web', 'index.html'), path.join(out, 'index.html'));
copyFileSync(path.join(root, 'web', 'app.css'), path.join(out, 'app.css'));
const kib = (f) => (statSync(path.join(out, f)).size / 1024).toFixed(1);
if (process.argv.includes('--sizes')) console.log(`dist/ui: app.js ${kib('app.js')} KiB, app.css ${kib('app.css')} KiB`);
