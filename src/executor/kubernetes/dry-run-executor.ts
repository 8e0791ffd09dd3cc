/**
 * `strand run --dry-run --executor kubernetes`: builds the run's anchor and the Job of every task
 * whose inputs exist now, prints them as YAML for review (or GitOps), and runs nothing. Later steps
 * need outputs of earlier ones, so they are not reached; the summary says so. Credentials in URLs
 * are shown as *** (storage/redact-url.ts): the YAML is for review, not to apply as it is then.
 */
import type { Executor, TaskResult, TaskSpec } from '../executor.js';
import { redactUrls } from '../../storage/redact-url.js';
import { buildAnchor } from './anchor.js';
import { InputStager } from './input-stager.js';
import { buildTaskJob } from './job-builder.js';
import { toYamlDocuments } from '../../cluster/manifests.js';
import { anchorName } from '../../cluster/names.js';
import type { KubernetesSettings } from './settings.js';
import { podLayout } from './object-store-mode/layout.js';
import type { ObjectStoreMode } from './object-store-mode/mode.js';
import { buildObjectStoreJob } from './object-store-mode/pod-builder.js';
import { jobName } from '../../cluster/names.js';

export const DRY_RUN_MESSAGE = 'dry run: Job not submitted';

export class DryRunExecutor implements Executor {
  readonly name = 'kubernetes';
  readonly isolated = true;
  private readonly anchors = new Set<string>();
  jobs = 0;

  constructor(
    private readonly settings: KubernetesSettings,
    private readonly namespace: string,
    private readonly output: NodeJS.WritableStream,
    private readonly objectStore?: ObjectStoreMode,
  ) {
    if (!settings.workspace && !objectStore) throw new Error('kubernetes.workspace is not configured: tasks need a ReadWriteMany volume (see docs/kubernetes.md)');
  }

  get workRoot(): string | undefined {
    if (this.objectStore) return this.objectStore.workRoot;
    return this.settings.workspace ? `${this.settings.workspace.localPath}/runs` : undefined;
  }

  async run(spec: TaskSpec): Promise<TaskResult> {
    const objects: object[] = [];
    if (!this.anchors.has(spec.runId)) {
      this.anchors.add(spec.runId);
      objects.push(buildAnchor(spec.runId, this.namespace, this.settings.owner, { processId: '', startedAt: new Date() }));
    }
    const anchor = { name: anchorName(spec.runId), uid: '<uid of the anchor ConfigMap, set when it is created>' };
    if (this.objectStore) {
      // The Job as it would be created; its stage-in manifest (and the inputs) are put in the bucket only by a real run.
      const job = jobName(spec.runId, spec.taskId, spec.attempt);
      const layout = podLayout(spec, this.objectStore.settings, this.objectStore.workRoot, job);
      objects.push(buildObjectStoreJob(spec, { settings: this.settings, store: this.objectStore.settings, s3: this.objectStore.s3, namespace: this.namespace, anchor, attempt: spec.attempt, job, layout }));
    } else {
      const paths = await new InputStager(this.settings.workspace!, this.settings.dataVolumes, spec.runId).pathMapFor(spec.mounts, { copy: false });
      objects.push(buildTaskJob(spec, { settings: this.settings, namespace: this.namespace, anchor, paths, attempt: spec.attempt }));
    }
    this.jobs++;
    // What is printed shows no credential of a URL (an input string, an argument): as the local dry run.
    this.output.write(redactUrls(toYamlDocuments(objects, `task ${spec.taskId}`)));
    return { reason: 'failed', exitCode: null, message: DRY_RUN_MESSAGE };
  }

  async shutdown(): Promise<void> {
    this.objectStore?.close();
  }
}
