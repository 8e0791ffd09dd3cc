#!/usr/bin/env node
// Compare a VCF of calls with the planted SNPs in truth.tsv.
//
// Usage: node check-snps.mjs CALLS.vcf TRUTH.tsv [--max-false-positives N]
//
// Every VCF record is broken into single-base changes (so a multi-base record from freebayes
// that contains a SNP still counts), then matched on chrom + position + alt base. Exits 1 if a
// known SNP is missing, if one is reported twice (a sign of overlapping scatter windows), or
// if there are more false positives than allowed (no limit unless the option is given).
// Genotype agreement (0/1 vs 1/1) is reported but not enforced.

import { readFileSync } from 'node:fs';

function usage(msg) {
  if (msg) console.error(`check-snps: ${msg}`);
  console.error('usage: node check-snps.mjs CALLS.vcf TRUTH.tsv [--max-false-positives N]');
  process.exit(2);
}

const args = process.argv.slice(2);
let maxFalsePositives = Infinity;
const positional = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--max-false-positives') {
    const v = Number(args[++i]);
    if (!Number.isInteger(v) || v < 0) usage('--max-false-positives needs a non-negative integer');
    maxFalsePositives = v;
  } else if (args[i] === '-h' || args[i] === '--help') {
    usage();
  } else {
    positional.push(args[i]);
  }
}
if (positional.length !== 2) usage('expected CALLS.vcf and TRUTH.tsv');
const [vcfPath, truthPath] = positional;

const key = (chrom, pos, alt) => `${chrom}:${pos}:${alt}`;

// --- truth ---------------------------------------------------------------------------------
const truth = new Map();
for (const line of readFileSync(truthPath, 'utf8').split('\n')) {
  if (!line || line.startsWith('#')) continue;
  const [chrom, pos, ref, alt, genotype] = line.split('\t');
  truth.set(key(chrom, Number(pos), alt), { chrom, pos: Number(pos), ref, alt, genotype });
}
if (truth.size === 0) usage(`no SNPs in ${truthPath}`);

// --- calls ---------------------------------------------------------------------------------
const normaliseGt = (gt) => (gt ?? '.').replace('|', '/').split('/').sort().join('/');
const snpCalls = new Map(); // key -> list of { qual, gt }
let records = 0;
let otherRecords = 0; // indels and other records that hold no single-base change
for (const line of readFileSync(vcfPath, 'utf8').split('\n')) {
  if (!line || line.startsWith('#')) continue;
  records++;
  const cols = line.split('\t');
  const [chrom, posText, , ref, altText, qual, , , format, sample] = cols;
  const pos = Number(posText);
  const alts = altText.split(',');
  const gtIndex = (format ?? '').split(':').indexOf('GT');
  const gt = gtIndex >= 0 ? (sample ?? '').split(':')[gtIndex] : undefined;
  let found = false;
  alts.forEach((alt, a) => {
    if (alt.length !== ref.length || alt.startsWith('<')) return;
    for (let i = 0; i < ref.length; i++) {
      if (ref[i] === alt[i]) continue;
      found = true;
      const k = key(chrom, pos + i, alt[i]);
      // Genotype in terms of this allele: 1 for it, 0 for anything else.
      const alleleGt = gt === undefined ? '.' : normaliseGt(gt.split(/[/|]/).map((x) => (Number(x) === a + 1 ? '1' : '0')).join('/'));
      const list = snpCalls.get(k) ?? [];
      list.push({ qual: Number(qual), gt: alleleGt });
      snpCalls.set(k, list);
    }
  });
  if (!found) otherRecords++;
}

// --- compare -------------------------------------------------------------------------------
const missing = [];
const duplicated = [];
let genotypeAgrees = 0;
const rows = [];
for (const [k, t] of truth) {
  const calls = snpCalls.get(k);
  if (!calls) {
    missing.push(t);
    rows.push(`  MISSING  ${t.chrom}:${t.pos} ${t.ref}>${t.alt} (${t.genotype})`);
    continue;
  }
  if (calls.length > 1) duplicated.push(t);
  const best = calls[0];
  if (best.gt === t.genotype) genotypeAgrees++;
  rows.push(
    `  found    ${t.chrom}:${t.pos} ${t.ref}>${t.alt} truth ${t.genotype} called ${best.gt} QUAL ${best.qual.toFixed(1)}` +
      (calls.length > 1 ? ` (reported ${calls.length} times)` : ''),
  );
}
const falsePositives = [...snpCalls.keys()].filter((k) => !truth.has(k));
const totalFalse = falsePositives.length + otherRecords;

console.log(`check-snps: ${vcfPath}`);
console.log(rows.join('\n'));
console.log(`records in VCF:       ${records}`);
console.log(`known SNPs found:     ${truth.size - missing.length}/${truth.size}`);
console.log(`genotypes agreeing:   ${genotypeAgrees}/${truth.size - missing.length}`);
console.log(`reported twice:       ${duplicated.length}`);
console.log(`false positives:      ${totalFalse} (${falsePositives.length} SNPs not in truth, ${otherRecords} other records)`);
for (const k of falsePositives.slice(0, 10)) console.log(`  false positive ${k}`);

const failures = [];
if (missing.length > 0) failures.push(`${missing.length} known SNP(s) not called`);
if (duplicated.length > 0) failures.push(`${duplicated.length} SNP(s) reported more than once`);
if (totalFalse > maxFalsePositives) failures.push(`${totalFalse} false positives (at most ${maxFalsePositives} allowed)`);
if (failures.length > 0) {
  console.log(`FAIL: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('OK: every known SNP was called');
