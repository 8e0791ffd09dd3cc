/**
 * A finished run's outputs into --outdir: relocated and verified there (staging/relocate.ts), or,
 * for a remote --outdir (s3://), in a local directory first and then uploaded.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { CwlObject } from '../model/types.js';
import { relocateOutputs, replaceableFrom } from '../staging/index.js';
import { StepsFailedError, StorageError, errorMessage } from '../errors.js';
import type { Logger } from '../engine/context.js';
import type { RemoteData } from './remote-data.js';
import type { RunRecorder } from './guarded-store.js';

export async function deliverOutputs(opts: {
  raw: CwlObject;
  inputs: CwlObject;
  outdir: string;
  tmpdirPrefix: string;
  workRoot: string;
  runId: string;
  remote: RemoteData | undefined;
  store: RunRecorder | undefined;
  /** The task cache's directory: its entries are copied out, never moved. */
  cacheDir: string | undefined;
}): Promise<CwlObject> {
  const { remote, store } = opts;
  const localOutdir = remote?.outdir ? await mkdtemp(opts.tmpdirPrefix + 'outputs-') : opts.outdir;
  await mkdir(localOutdir, { recursive: true });
  // Names in --outdir may be replaced only where an earlier run wrote what is there now.
  let outputs = await relocateOutputs(opts.raw, localOutdir, opts.workRoot, {
    inputs: opts.inputs,
    replaceable: replaceableFrom(remote?.outdir ? [] : (store?.outputsWrittenTo(opts.outdir) ?? [])),
    ...(opts.cacheDir ? { keep: [opts.cacheDir] } : {}),
  });
  if (remote?.outdir) {
    try {
      outputs = await remote.publish(outputs, localOutdir, opts.runId, store?.outputsWrittenTo(opts.outdir) ?? []);
    } catch (err) {
      if (err instanceof StorageError && err.reason !== 'exists') {
        throw new StorageError(`${err.message}; this run's results are in ${localOutdir}`, err.location, err.reason, { cause: err });
      }
      throw err;
    }
    await rm(localOutdir, { recursive: true, force: true });
  }
  return outputs;
}

/**
 * A run that failed under --on-error continue delivers the outputs that could be computed (null
 * where a failure left a hole), as cwltool does; any other failure delivers nothing. A delivery
 * that fails is said, and the run's own failure stays the error it ends with.
 */
export async function deliverPartialOutputs(
  err: unknown,
  opts: Omit<Parameters<typeof deliverOutputs>[0], 'raw'>,
  log: Logger,
): Promise<CwlObject | undefined> {
  if (!(err instanceof StepsFailedError) || !err.partialOutputs) return undefined;
  try {
    const outputs = await deliverOutputs({ ...opts, raw: err.partialOutputs as CwlObject });
    log.info(`the outputs that could be computed are in ${opts.outdir} (null where a failure left none)`);
    return outputs;
  } catch (e) {
    log.warn(`the outputs that could be computed were not delivered: ${errorMessage(e)}`);
    return undefined;
  }
}
