import { describe, expect, it } from 'vitest';
import { ANNOTATIONS, LABELS, MANAGED_BY, anchorName, jobName, labelValue, runSelector } from './names.js';

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

const RUN = '20261123-025959-ab12cd';
const AWKWARD = [
  'main/call_variants/3',
  'main/' + 'very_long_step_name/'.repeat(10) + '17',
  'x'.repeat(200),
  '/'.repeat(200),
  '',
  '-',
  '___weird___',
  'Main/UPPER case/Ünïcödé/ 💥 /0',
  '12345',
  'main/a..b--c__d/9/8/7',
  '.hidden/-dash-/_under_',
];

describe('constants', () => {
  it('has the agreed label and annotation keys', () => {
    expect(LABELS).toEqual({
      managedBy: 'app.kubernetes.io/managed-by',
      run: 'strand.dev/run',
      step: 'strand.dev/step',
      owner: 'strand.dev/owner',
      task: 'strand.dev/task',
      attempt: 'strand.dev/attempt',
    });
    expect(MANAGED_BY).toBe('strand');
    expect(ANNOTATIONS).toEqual({ taskId: 'strand.dev/task-id', stepPath: 'strand.dev/step-path' });
  });
});

describe('labelValue', () => {
  it('keeps values that are already valid', () => {
    for (const v of ['strand', RUN, 'main.call_variants', 'a', 'A-b_c.9']) expect(labelValue(v)).toBe(v);
  });

  it('turns awkward strings into valid label values', () => {
    for (const s of AWKWARD) {
      const v = labelValue(s);
      expect(v, s).toMatch(LABEL_VALUE);
      expect(v.length, s).toBeGreaterThan(0);
      expect(v.length, s).toBeLessThanOrEqual(63);
    }
  });

  it('stays readable and keeps inputs apart that differ only in replaced characters', () => {
    expect(labelValue('main/call_variants')).toMatch(/^main-call_variants-[0-9a-f]{10}$/);
    expect(labelValue('main/call_variants')).not.toBe(labelValue('main-call_variants'));
    expect(labelValue('main/x')).not.toBe(labelValue('main:x'));
  });

  it('keeps long values apart that share their first 63 characters', () => {
    const a = 'x'.repeat(100) + 'a';
    const b = 'x'.repeat(100) + 'b';
    expect(labelValue(a)).not.toBe(labelValue(b));
    expect(labelValue(a)).toHaveLength(63);
  });

  it('is deterministic', () => {
    for (const s of AWKWARD) expect(labelValue(s)).toBe(labelValue(s));
  });
});

describe('jobName', () => {
  it('is readable: run, step words, index, attempt', () => {
    const n = jobName(RUN, 'main/call_variants/3', 1);
    expect(n).toMatch(/^s-ab12cd-call-variants-3-[0-9a-f]{10}-a1$/);
  });

  it('is a valid DNS-1123 label starting with a letter for awkward inputs', () => {
    for (const t of AWKWARD) {
      for (const run of [RUN, '', 'RUN_WITH/odd:chars', 'z'.repeat(300)]) {
        for (const attempt of [0, 1, 7, 123456]) {
          const n = jobName(run, t, attempt);
          expect(n, `${run} ${t} ${attempt}`).toMatch(DNS_LABEL);
          expect(n.length).toBeLessThanOrEqual(63);
        }
      }
    }
  });

  it('keeps the most specific words of a 200-character step path', () => {
    const long = 'main/' + 'subworkflow_level/'.repeat(11) + 'final_step/42';
    expect(long.length).toBeGreaterThan(200);
    const n = jobName(RUN, long, 2);
    expect(n).toMatch(DNS_LABEL);
    expect(n).toContain('final-step-42-');
    expect(n.endsWith('-a2')).toBe(true);
  });

  it('is unique across 10k task ids, including ids that differ only where names are truncated', () => {
    const names = new Set<string>();
    const long = 'main/' + 'z'.repeat(200);
    for (let i = 0; i < 5000; i++) {
      names.add(jobName(RUN, `main/step/${i}`, 1));
      // The distinguishing part is at the start, which truncation drops.
      names.add(jobName(RUN, `${i}/${long}`, 1));
    }
    expect(names.size).toBe(10_000);
  });

  it('differs between runs, attempts and tasks whose words sanitize the same', () => {
    const base = jobName(RUN, 'main/a_b/1', 1);
    expect(jobName('20261123-025959-ffffff', 'main/a_b/1', 1)).not.toBe(base);
    expect(jobName(RUN, 'main/a_b/1', 2)).not.toBe(base);
    expect(jobName(RUN, 'main/a-b/1', 1)).not.toBe(base);
    expect(jobName(RUN, 'main/A_B/1', 1)).not.toBe(base);
  });

  it('is deterministic', () => {
    expect(jobName(RUN, 'main/call_variants/3', 4)).toBe(jobName(RUN, 'main/call_variants/3', 4));
  });
});

describe('anchorName and runSelector', () => {
  it('names the anchor after the run', () => {
    expect(anchorName(RUN)).toBe(`strand-run-${RUN}`);
  });

  it('is a valid DNS-1123 subdomain for odd run ids, and keeps them apart', () => {
    const odd = ['Run_1', 'run 1', 'run/1', '', 'x'.repeat(300), 'x'.repeat(300) + 'y'];
    const names = odd.map(anchorName);
    for (const n of names) {
      expect(n).toMatch(DNS_SUBDOMAIN);
      expect(n.length).toBeLessThanOrEqual(63);
      expect(n.startsWith('strand-run-')).toBe(true);
    }
    expect(new Set(names).size).toBe(odd.length);
  });

  it('selects by managed-by and run label', () => {
    expect(runSelector(RUN)).toBe(`app.kubernetes.io/managed-by=strand,strand.dev/run=${RUN}`);
    expect(runSelector('odd/run')).toBe(`app.kubernetes.io/managed-by=strand,strand.dev/run=${labelValue('odd/run')}`);
  });
});
