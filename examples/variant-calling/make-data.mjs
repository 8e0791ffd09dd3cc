#!/usr/bin/env node
// Writes a small, fully synthetic variant-calling data set, the same bytes on every run:
//
//   reference.fa        two random contigs (chr1 40 kb, chr2 30 kb)
//   truth.tsv           the SNPs planted in the sample (homozygous and heterozygous)
//   reads.bam(.bai)     ~30x single-end 100 bp reads of the sample, with sequencing errors,
//                       coordinate-sorted and indexed by samtools
//
// Usage: node make-data.mjs [OUTDIR]      (default: ./data beside this script)
// Needs `samtools` on the PATH (only for sort + index). Plain Node, no dependencies.

import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.argv[2] ?? join(here, 'data'));

const SEED = 20240611;
const CONTIGS = [
  { name: 'chr1', length: 40_000 },
  { name: 'chr2', length: 30_000 },
];
const READ_LENGTH = 100;
const COVERAGE = 30;
const ERROR_RATE = 0.005;
const SAMPLE = 'NA00001';

// mulberry32: a tiny deterministic PRNG, good enough for simulation.
function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = makeRng(SEED);
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const BASES = 'ACGT';
const otherBase = (b) => {
  const choices = BASES.replace(b, '');
  return choices[randInt(0, choices.length - 1)];
};

// --- reference -------------------------------------------------------------------------
for (const c of CONTIGS) {
  const seq = new Array(c.length);
  for (let i = 0; i < c.length; i++) seq[i] = BASES[randInt(0, 3)];
  c.seq = seq.join('');
}

// --- truth: SNP positions spread over each contig ----------------------------------------
// Each contig is cut into 8 equal slices and one or two SNPs are placed per slice, away from
// the contig ends (so every SNP has full read depth) and at least 300 bp from each other.
// One SNP per contig sits exactly on a window boundary of the 4-way split the pipeline uses
// by default, so a region split that loses or duplicates the last base would be caught.
const truth = [];
for (const c of CONTIGS) {
  const slices = 8;
  const slice = Math.floor(c.length / slices);
  const positions = new Set();
  const boundary = Math.ceil(c.length / 4); // last base of the first default window
  positions.add(boundary);
  for (let s = 0; s < slices; s++) {
    const count = s % 3 === 0 ? 2 : 1;
    for (let k = 0; k < count; k++) {
      for (;;) {
        const lo = Math.max(s * slice + 1, 300);
        const hi = Math.min((s + 1) * slice, c.length - 300);
        const p = randInt(lo, hi);
        if ([...positions].every((q) => Math.abs(q - p) >= 300)) {
          positions.add(p);
          break;
        }
      }
    }
  }
  const sorted = [...positions].sort((x, y) => x - y);
  sorted.forEach((pos, i) => {
    const ref = c.seq[pos - 1];
    const alt = otherBase(ref);
    // Every fourth SNP is heterozygous, the rest homozygous alternate.
    truth.push({ chrom: c.name, pos, ref, alt, genotype: i % 4 === 2 ? '0/1' : '1/1' });
  });
}

// Two haplotypes of the sample: both carry the homozygous SNPs, only hap 1 the heterozygous.
const haplotypes = CONTIGS.map((c) => {
  const h0 = c.seq.split('');
  const h1 = c.seq.split('');
  for (const t of truth.filter((x) => x.chrom === c.name)) {
    h1[t.pos - 1] = t.alt;
    if (t.genotype === '1/1') h0[t.pos - 1] = t.alt;
  }
  return [h0.join(''), h1.join('')];
});

// --- reads -------------------------------------------------------------------------------
const lines = [];
lines.push('@HD\tVN:1.6\tSO:unsorted');
for (const c of CONTIGS) lines.push(`@SQ\tSN:${c.name}\tLN:${c.length}`);
lines.push(`@RG\tID:run1\tSM:${SAMPLE}\tPL:ILLUMINA\tLB:lib1`);
lines.push('@PG\tID:make-data\tPN:strand-example-simulator\tVN:1');

let readNo = 0;
let errors = 0;
CONTIGS.forEach((c, ci) => {
  const nReads = Math.round((c.length * COVERAGE) / READ_LENGTH);
  const starts = [];
  for (let i = 0; i < nReads; i++) starts.push(randInt(1, c.length - READ_LENGTH + 1));
  starts.sort((a, b) => a - b);
  for (const start of starts) {
    const hap = haplotypes[ci][randInt(0, 1)];
    const bases = hap.slice(start - 1, start - 1 + READ_LENGTH).split('');
    const quals = new Array(READ_LENGTH);
    for (let j = 0; j < READ_LENGTH; j++) {
      quals[j] = String.fromCharCode(33 + randInt(28, 40));
      if (rand() < ERROR_RATE) {
        bases[j] = otherBase(bases[j]);
        errors++;
      }
    }
    const reverse = rand() < 0.5;
    readNo++;
    // SEQ is stored in reference orientation in SAM whatever the strand, so only FLAG changes.
    lines.push(
      [
        `read${String(readNo).padStart(6, '0')}`,
        reverse ? 16 : 0,
        c.name,
        start,
        60,
        `${READ_LENGTH}M`,
        '*',
        0,
        0,
        bases.join(''),
        quals.join(''),
        'RG:Z:run1',
      ].join('\t'),
    );
  }
});

// --- write -------------------------------------------------------------------------------
mkdirSync(outDir, { recursive: true });

const fasta = [];
for (const c of CONTIGS) {
  fasta.push(`>${c.name} synthetic contig`);
  for (let i = 0; i < c.length; i += 60) fasta.push(c.seq.slice(i, i + 60));
}
writeFileSync(join(outDir, 'reference.fa'), fasta.join('\n') + '\n');

writeFileSync(
  join(outDir, 'truth.tsv'),
  ['#chrom\tpos\tref\talt\tgenotype', ...truth.map((t) => `${t.chrom}\t${t.pos}\t${t.ref}\t${t.alt}\t${t.genotype}`)].join(
    '\n',
  ) + '\n',
);

const samPath = join(outDir, 'reads.sam');
writeFileSync(samPath, lines.join('\n') + '\n');
const bamPath = join(outDir, 'reads.bam');
try {
  // Fixed @PG handling and one thread keep the BAM byte-identical from run to run.
  execFileSync('samtools', ['sort', '--no-PG', '-o', bamPath, samPath], { stdio: ['ignore', 'inherit', 'inherit'] });
  execFileSync('samtools', ['index', bamPath], { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (err) {
  const reason = err.code === 'ENOENT' ? 'samtools is not on the PATH' : String(err.message ?? err);
  console.error(`make-data: could not sort/index the reads (${reason}).`);
  process.exit(1);
}
rmSync(samPath);

const hom = truth.filter((t) => t.genotype === '1/1').length;
console.log(
  `make-data: wrote ${outDir}\n` +
    `  reference.fa  ${CONTIGS.map((c) => `${c.name} ${c.length} bp`).join(', ')}\n` +
    `  truth.tsv     ${truth.length} SNPs (${hom} homozygous, ${truth.length - hom} heterozygous)\n` +
    `  reads.bam     ${readNo} reads x ${READ_LENGTH} bp (~${COVERAGE}x), ${errors} sequencing errors, sample ${SAMPLE}`,
);
