/**
 * The object-store mode as the Kubernetes executor uses it: per run, the bucket's side of the
 * run (ObjectStoreRun); per pod, prepare (put the files, write the manifest), build (pure), and
 * after the pod, judge the upload and bring the working directory back.
 */
import os from 'node:os';
import path from 'node:path';
import type { V1Job, V1LimitRange, V1Pod } from '@kubernetes/client-node';
import { S3Store, type S3Settings } from '../../../storage/index.js';
import type { TaskSpec } from '../../executor.js';
import type { PodVerdict } from '../diagnose.js';
import type { KubernetesSettings } from '../settings.js';
import { fitToLimitRanges } from './helper-resources.js';
import { readsInPlace } from './in-place.js';
import { podLayout, type PodLayout } from './layout.js';
import { buildObjectStoreJob } from './pod-builder.js';
import { ObjectStoreRun } from './run-files.js';
import type { ObjectStoreSettings } from './settings.js';
import { uploadVerdict } from './verdict.js';

export { ObjectStoreRun, TaskFilesError } from './run-files.js';

/** Where Strand keeps the run's task directories on this machine (no shared volume: a local directory). */
export function localWorkRoot(): string {
  const user = (() => {
    try {
      return os.userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '-');
    } catch {
      return 'user';
    }
  })();
  return path.join(os.tmpdir(), `strand-objectstore-${user}`);
}

export interface PreparedPod {
  job: V1Job;
  layout: PodLayout;
}

export class ObjectStoreMode {
  readonly store: S3Store;
  settings: ObjectStoreSettings;

  constructor(
    readonly kube: KubernetesSettings,
    readonly s3: S3Settings,
    readonly workRoot: string,
    store?: S3Store,
  ) {
    this.settings = kube.objectStore!;
    this.store = store ?? new S3Store(s3);
  }

  /** The bucket exists and Strand's credentials may use it: one clear error before any task starts. */
  async check(): Promise<void> {
    await this.store.checkBucket(this.settings.bucket);
  }

  /**
   * Where a tool sees the copies of its inputs that are not its own paths: `<pod root>/.strand-in`.
   * With the default pod root (Strand's work root) those paths are under the run's own work root;
   * with `podRoot` (pods as host processes, the fake API server) under each pod's directory there.
   */
  inputCopies(): string[] {
    return this.settings.podRoot ? [this.settings.podRoot] : [];
  }

  /** Whether the run's pods fetch this object themselves (in-place.ts): only what their credentials are for. */
  readsInPlace(location: { bucket: string; key: string }): boolean {
    return readsInPlace(this.settings, location);
  }

  /** Fit the helper containers' resources to the namespace's LimitRanges (listed once per run); what changed, for the run's log. */
  fitHelpers(ranges: readonly V1LimitRange[]): string[] {
    const { notes, ...fitted } = fitToLimitRanges(this.kube.objectStore!.helperResources, ranges);
    this.settings = { ...this.settings, helperResources: fitted };
    return notes;
  }

  startRun(runId: string): ObjectStoreRun {
    return new ObjectStoreRun(this.store, this.settings, runId, this.workRoot);
  }

  /** The pod's layout and Job (pure); its files go to the bucket with `run.prepare` once it is admitted. */
  build(spec: TaskSpec, ctx: { namespace: string; anchor: { name: string; uid: string }; attempt: number; memoryMiB: number; job: string }): PreparedPod {
    const layout = podLayout(spec, this.settings, this.workRoot, ctx.job);
    const job = buildObjectStoreJob(spec, { settings: this.kube, store: this.settings, s3: this.s3, layout, ...ctx });
    return { job, layout };
  }

  verdict(v: PodVerdict, pod: V1Pod | undefined): PodVerdict {
    return uploadVerdict(v, pod);
  }

  close(): void {
    this.store.close();
  }
}
