/**
 * Keys of a job file that are not inputs of the document it runs (`bed_flie: x` for `bed_file`):
 * cwltool runs such jobs, so they are warned about, not refused, each with where it is written,
 * the document's inputs and the nearest of them.
 */
import { formatProblem } from '../errors.js';
import type { JobFile } from '../loader/index.js';
import { JOB_REQUIREMENTS_KEY } from '../model/requirements.js';
import type { Process } from '../model/types.js';
import { nearestName } from './nearest-name.js';

/** Keys a job file may have besides inputs: what Strand reads from it (cwltool's too). */
const JOB_FILE_KEYS = new Set([JOB_REQUIREMENTS_KEY, 'cwl:tool']);

/**
 * Whether `key` is something other than an input name: a `$` directive (`$namespaces`, `$schemas`),
 * a key Strand reads, an absolute URI, or a name prefixed by one of the job's `$namespaces`
 * (extension fields, which schema-salad lets through).
 */
function isNotAnInputName(key: string, namespaces: unknown): boolean {
  if (key.startsWith('$') || JOB_FILE_KEYS.has(key) || /^[a-z][a-z0-9+.-]*:\/\//i.test(key)) return true;
  const colon = key.indexOf(':');
  return colon > 0 && typeof namespaces === 'object' && namespaces !== null && Object.hasOwn(namespaces, key.slice(0, colon));
}

/** `wordcount.cwl`, or `packed.cwl#main` for a process inside a `$graph`. */
function processName(process: Process): string {
  const file = process.sourceFile.replace(/^.*\//, '');
  const hash = process.id.lastIndexOf('#');
  return hash >= 0 ? `${file}#${process.id.slice(hash + 1)}` : file;
}

/** One warning per key of `job` that `process` does not take, in the file's order. */
export function unknownJobKeyWarnings(process: Process, job: JobFile): string[] {
  const inputs = process.inputs.map((p) => p.id);
  const known = new Set(inputs);
  const warnings: string[] = [];
  for (const key of Object.keys(job.inputs)) {
    if (known.has(key) || isNotAnInputName(key, job.inputs.$namespaces)) continue;
    const near = nearestName(key, inputs);
    const detail =
      `"${key}" is not an input of ${processName(process)} (its inputs: ${inputs.join(', ') || 'none'})` +
      (near ? `; did you mean "${near}"?` : '');
    warnings.push(formatProblem({ detail, location: job.locate(key) }));
  }
  return warnings;
}
