#!/usr/bin/env node
// A checksum manifest of a directory tree, to prove a test run left it byte-identical.
//   node scripts/tree-manifest.mjs write <dir> <manifest.json>   record every entry (type, mode, size, sha1 / link target)
//   node scripts/tree-manifest.mjs check <dir> <manifest.json>   exit 1 listing what changed, went missing or appeared
// Links are recorded, not followed; nothing in <dir> is ever written.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function scan(root) {
  const entries = {};
  const walk = (rel) => {
    const abs = path.join(root, rel);
    const st = lstatSync(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) entries[rel] = { type: 'link', target: readlinkSync(abs) };
    else if (st.isDirectory()) {
      if (rel) entries[rel] = { type: 'dir', mode };
      for (const name of readdirSync(abs).sort()) walk(rel ? path.join(rel, name) : name);
    } else if (st.isFile()) entries[rel] = { type: 'file', mode, size: st.size, sha1: createHash('sha1').update(readFileSync(abs)).digest('hex') };
    else entries[rel] = { type: 'other', mode };
  };
  walk('');
  return entries;
}

const [cmd, dir, manifest] = process.argv.slice(2);
if (!['write', 'check'].includes(cmd) || !dir || !manifest) {
  console.error('usage: tree-manifest.mjs write|check <dir> <manifest.json>');
  process.exit(2);
}
const now = scan(path.resolve(dir));
if (cmd === 'write') {
  writeFileSync(manifest, JSON.stringify(now));
  console.log(`${Object.keys(now).length} entries of ${dir} recorded in ${manifest}`);
  process.exit(0);
}
const before = JSON.parse(readFileSync(manifest, 'utf8'));
const problems = [];
for (const [rel, was] of Object.entries(before)) {
  const is = now[rel];
  if (!is) problems.push(`missing: ${rel}`);
  else if (JSON.stringify(is) !== JSON.stringify(was)) problems.push(`changed: ${rel} (${JSON.stringify(was)} -> ${JSON.stringify(is)})`);
}
for (const rel of Object.keys(now)) if (!(rel in before)) problems.push(`added: ${rel}`);
if (problems.length) {
  console.error(`${dir} is not as it was before the tests (${problems.length}):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${dir}: all ${Object.keys(before).length} entries unchanged`);
