/**
 * Bookkeeping never costs a user their results: the run store as one run uses it, where a failure
 * to write (a full disk, a read-only file system, a locked or damaged database) is caught, said
 * once on stderr and remembered, and the run goes on to deliver its outputs. Reads fall back to
 * the safe answer (nothing known), which never lets Strand replace a file it should not.
 */
import type { Logger } from '../engine/context.js';
import type { RunEvent } from '../engine/events.js';
import { HEARTBEAT_MS, type FileDigest, type RunMeta, type RunStore } from '../store/run-store.js';
import { errorMessage } from '../errors.js';

/** The part of the run store a run writes and reads while it goes. */
export interface RunRecorder {
  readonly path: string;
  createRun(meta: RunMeta): void;
  record(event: RunEvent): void;
  /** Output objects of earlier successful runs into `outdir`; none when the store cannot be read. */
  outputsWrittenTo(outdir: string): unknown[];
  fileDigest(path: string): FileDigest | undefined;
  rememberFileDigest(digest: FileDigest): void;
  /** Writes the run's heartbeat now and every HEARTBEAT_MS until close(): how others know it is alive. */
  keepAlive(runId: string): void;
  /** Writes what is queued and closes the store. */
  close(): void;
  /** The first failure to write the run's record, if any (the record is then incomplete). */
  readonly failure: string | undefined;
}

export function guardedRecorder(store: RunStore, log: Logger): RunRecorder {
  let failure: string | undefined;
  let beat: NodeJS.Timeout | undefined;
  const failed = (what: string, err: unknown): void => {
    if (failure !== undefined) return;
    failure = errorMessage(err);
    log.warn(`run store: ${what}: ${failure}; the run goes on and delivers its outputs, but its record is incomplete`);
  };
  const attempt = <T>(what: string, fallback: T, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      failed(what, err);
      return fallback;
    }
  };
  return {
    path: store.path,
    get failure() {
      return failure;
    },
    createRun: (meta) => attempt('cannot record the run', undefined, () => store.createRun(meta)),
    record: (event) => attempt('cannot record an event', undefined, () => store.record(event)),
    outputsWrittenTo: (outdir) => attempt('cannot read earlier runs', [] as unknown[], () => store.outputsWrittenTo(outdir)),
    // A checksum not found is computed again; one not remembered is computed again next time.
    fileDigest: (p) => {
      try {
        return store.fileDigest(p);
      } catch {
        return undefined;
      }
    },
    rememberFileDigest: (d) => {
      try {
        store.rememberFileDigest(d);
      } catch {
        // see above
      }
    },
    keepAlive: (runId) => {
      const once = () => attempt('cannot write the heartbeat', undefined, () => store.heartbeat(runId));
      once();
      beat = setInterval(once, HEARTBEAT_MS);
      beat.unref();
    },
    close: () => {
      clearInterval(beat);
      attempt('cannot write the end of the run', undefined, () => store.flush());
      try {
        store.close();
      } catch {
        // The queued events could not be written: said above.
      }
    },
  };
}
