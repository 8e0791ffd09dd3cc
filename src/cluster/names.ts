/**
 * Names, labels and annotations of the objects Strand creates in a cluster.
 *
 * Everything here is deterministic: the same run and task always give the same names, so a
 * restarted Strand finds the Jobs it created before. Names are readable (`kubectl get jobs`
 * shows the run and the step) and unique (a hash of the full identity survives truncation).
 */
import { createHash } from 'node:crypto';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  run: 'strand.dev/run',
  step: 'strand.dev/step',
  owner: 'strand.dev/owner',
  task: 'strand.dev/task',
  attempt: 'strand.dev/attempt',
} as const;

export const MANAGED_BY = 'strand';

export const ANNOTATIONS = {
  taskId: 'strand.dev/task-id',
  stepPath: 'strand.dev/step-path',
} as const;

/** Longest label value and DNS-1123 label. */
const MAX_LABEL = 63;

const VALID_LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** `n` lowercase hex characters of the SHA-256 of `parts` (joined unambiguously). */
function shortHash(n: number, ...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p.length}:${p}`);
  return h.digest('hex').slice(0, n);
}

/**
 * Any string as a valid label value (at most 63 characters of `[A-Za-z0-9._-]`, beginning and
 * ending with a letter or digit). A value that is already valid is returned unchanged; any
 * other gets its invalid characters replaced by `-` and a hash of the original appended, so two
 * different inputs never share a value (`main/x` and `main-x` stay apart).
 */
export function labelValue(s: string): string {
  if (s.length <= MAX_LABEL && VALID_LABEL_VALUE.test(s)) return s;
  const hash = shortHash(10, s);
  const body = s
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, MAX_LABEL - hash.length - 1)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return body ? `${body}-${hash}` : hash;
}

/** Lowercase DNS-1123 words: runs of anything but `[a-z0-9]` become one `-`, no dash at the ends. */
function dnsWords(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The Job name of one attempt of a task: `s-<run>-<step words and index>-<hash>-a<attempt>`, e.g.
 * `s-ab12cd-call-variants-3-5f0c2a9e1b-a1` for task `main/call_variants/3` of run
 * `20261123-025959-ab12cd`. A valid DNS-1123 label (so also a valid `job-name` label value),
 * starting with a letter, at most 63 characters. The hash covers (runId, taskId), so tasks whose
 * readable part is truncated to the same words still get different names.
 */
export function jobName(runId: string, taskId: string, attempt: number): string {
  const hash = shortHash(10, runId, taskId);
  const runTail = runId.split('-').filter((p) => p !== '').pop() ?? '';
  const run = dnsWords(runTail).slice(-8).replace(/^-+/, '') || 'run';
  const suffix = `-${hash}-a${Math.max(0, Math.trunc(attempt))}`;
  // A leading `main/` (the top-level workflow) says nothing; keep the most specific words.
  const words = dnsWords(taskId.replace(/^main\//, ''));
  const budget = MAX_LABEL - 's-'.length - run.length - 1 - suffix.length;
  const kept = words.length > budget ? words.slice(words.length - budget).replace(/^-+/, '') : words;
  return kept ? `s-${run}-${kept}${suffix}` : `s-${run}${suffix}`;
}

/**
 * Name of the per-run anchor ConfigMap that owns every object of the run:
 * `strand-run-<runId>` (lowercased; a run id with other characters gets a hash appended).
 */
export function anchorName(runId: string): string {
  return runObjectName('strand-run-', runId);
}

/**
 * `<prefix><runId>` as a DNS-1123 name (lowercased; a run id with other characters, or too long,
 * gets a hash appended): the anchor, and the leader Job and ConfigMaps of `strand submit`.
 */
export function runObjectName(prefix: string, runId: string): string {
  const words = dnsWords(runId);
  if (words !== '' && words === runId && prefix.length + words.length <= MAX_LABEL) return prefix + words;
  const hash = shortHash(10, runId);
  const body = words.slice(0, MAX_LABEL - prefix.length - hash.length - 1).replace(/-+$/, '');
  return body ? `${prefix}${body}-${hash}` : `${prefix}${hash}`;
}

/** Label selector for every object of a run. */
export function runSelector(runId: string): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.run}=${labelValue(runId)}`;
}
