/**
 * What a run shows and records, set up once before it starts: the secret values to mask
 * (cwltool:Secrets), the logger and the event sink that mask them and redact credentials in URLs,
 * and the run store behind a guarded recorder (a store that fails never costs the run).
 */
import type { ResolvedConfig } from '../config/config.js';
import type { Logger } from '../engine/context.js';
import type { RunEvent, RunEventSink } from '../engine/events.js';
import { applyJobRequirements } from '../engine/run-process.js';
import { maskingLogger, maskingSink, registerSecrets } from '../engine/secrets.js';
import { SecretMask } from '../model/secrets.js';
import type { CwlObject, Process } from '../model/types.js';
import { redactDeep } from '../storage/redact-url.js';
import { openRunStore } from '../store/run-store.js';
import { guardedRecorder, type RunRecorder } from './guarded-store.js';

export interface RunRecording {
  secrets: SecretMask;
  log: Logger;
  /** Undefined when the store is off or cannot be opened (said on the log). */
  store: RunRecorder | undefined;
  emit: RunEventSink;
}

export function openRunRecording(opts: {
  config: ResolvedConfig;
  process: Process;
  inputs: CwlObject;
  log: Logger;
  onEvent?: RunEventSink | undefined;
}): RunRecording {
  // The values named by the top-level process are known before anything is shown or recorded;
  // those of processes inside join when they start (engine/secrets.ts).
  const secrets = new SecretMask();
  const top = applyJobRequirements({ process: opts.process, inputs: opts.inputs, path: '', inheritedRequirements: [], inheritedHints: [] });
  registerSecrets(top.process, opts.inputs, secrets);
  const log = maskingLogger(secrets, opts.log);
  const opened = openStoreOrWarn(opts.config, log);
  const store = opened ? guardedRecorder(opened, log) : undefined;
  // Secret inputs are masked, and credentials in URLs (user:password@, pre-signed query
  // parameters) redacted, before anything is recorded or shown.
  const emit = maskingSink(secrets, (event: RunEvent) => {
    const e = redactDeep(event);
    store?.record(e);
    opts.onEvent?.(e);
  });
  return { secrets, log, store, emit };
}

function openStoreOrWarn(config: ResolvedConfig, log: Logger) {
  if (config.storeDir === false) return undefined;
  try {
    return openRunStore(config.storeDir);
  } catch (err) {
    log.warn(`run store at ${config.storeDir} unavailable (${(err as Error).message}); this run is not recorded`);
    return undefined;
  }
}
