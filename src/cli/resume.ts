/**
 * `strand run --resume [RUN]`: which run to continue and how to run it again. The run's document,
 * input object, --outdir and task cache come from the run store; everything that finished before
 * the run failed, was cancelled or was killed is in its task cache and is reused.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { isSecretPlaceholder } from '../model/secrets.js';
import type { CwlObject } from '../model/types.js';
import { hasRedactedUrl } from '../storage/redact-url.js';
import { openRunStore, type RunDetail } from '../store/run-store.js';

export interface ResumePlan {
  run: RunDetail;
  /** The document to run, absolute (recorded relative to the run's working directory). */
  document: string;
  /** The recorded input object, when the run has one (runs recorded by an older Strand do not). */
  inputs?: CwlObject;
  warnings: string[];
}

export function resolveResume(storeDir: string | false, ref: string | undefined): ResumePlan {
  if (storeDir === false) throw new UsageError('--resume needs the run store, which is off (--no-record or STRAND_STORE=off)');
  const store = openRunStore(storeDir);
  try {
    const id = ref ?? store.lastUnsuccessfulRun()?.id;
    if (id === undefined) throw new UsageError(`no failed, cancelled or interrupted run to resume in ${storeDir} (see strand list)`);
    let run = store.getRun(id);
    if (!run) throw new UsageError(`no run "${id}" in the run store ${storeDir} (see strand list)`);
    if (run.status === 'running') throw new UsageError(`run ${run.id} is still running (pid ${run.pid ?? '?'}); stop it first, or wait for it`);
    const warnings: string[] = [];
    if (run.status === 'interrupted') {
      // Its process is gone (killed): close its record, so it is not shown as running.
      store.markInterrupted(run.id, 'interrupted', 'Strand stopped while the run was going (killed?)');
      run = store.getRun(run.id) as RunDetail;
    }
    if (run.status === 'success') warnings.push(`run ${run.id} succeeded; running it again reuses all of its tasks`);
    if (!run.documentPath) throw new UsageError(`run ${run.id} has no document recorded; run it again with strand run`);
    if (run.cacheMode === 'off' || (run.cacheMode !== undefined && !run.cacheDir)) {
      warnings.push(`run ${run.id} ran with the task cache off: nothing it did can be reused, every task runs again`);
    }
    if (run.inputs !== undefined && hasRedactedUrl(JSON.stringify(run.inputs))) {
      warnings.push(
        `run ${run.id}'s input URLs held credentials, which the run store does not keep (shown as ***): if they are needed, ` +
          'run the document again with its job file (strand run <document> <job>); finished tasks are reused from the task cache',
      );
    }
    const doc = run.documentPath;
    const isUri = /^[a-z][a-z0-9+.-]*:/i.test(doc);
    const document = isUri || path.isAbsolute(doc) ? doc : path.resolve(run.cwd ?? process.cwd(), doc);
    // Secret inputs (cwltool:Secrets) were recorded as placeholders: they must be given again.
    let inputs = run.inputs as CwlObject | undefined;
    const secret = inputs ? Object.keys(inputs).filter((k) => isSecretPlaceholder(inputs?.[k])) : [];
    if (inputs && secret.length) {
      inputs = Object.fromEntries(Object.entries(inputs).filter(([k]) => !secret.includes(k))) as CwlObject;
      warnings.push(`run ${run.id}'s secret inputs were not recorded: give them again, e.g. strand run --resume ${doc} ${secret.map((k) => `--${k} <value>`).join(' ')} (or a job file)`);
    }
    return { run, document, ...(inputs !== undefined ? { inputs } : {}), warnings };
  } finally {
    store.close();
  }
}
