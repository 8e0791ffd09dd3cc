/**
 * `strand leader`: the Strand process of a submitted run, inside the leader pod (see
 * cluster/leader-manifests.ts). It puts the bundle on the workspace, runs the
 * workflow with the Kubernetes executor through the pod's service account, keeps its run store
 * on the workspace and publishes the run's state to the status ConfigMap at a bounded rate.
 *
 * The run has a fixed id, so a leader pod started again by its Job (the first died or was deleted)
 * adopts the task Jobs that still exist instead of starting them twice. SIGTERM (pod deletion)
 * therefore stops only this process: the task Jobs stay for the next leader. Cancelling is
 * deleting the leader Job (`strand cancel`): the garbage collector takes the tasks with it.
 */
import { parseJsonExact, stringifyJsonExact } from '../../model/exact-json.js';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runDocument } from '../run.js';
import { resolveConfig } from '../../config/config.js';
import type { StorageSettings } from '../../config/storage-settings.js';
import { loadDocument, loadJob } from '../../loader/index.js';
import { openRunStore } from '../../store/run-store.js';
import { snapshotOf } from '../../store/run-snapshot.js';
import type { RunStatus } from '../../engine/events.js';
import { UsageError, errorMessage, isStrandError } from '../../errors.js';
import type { RunDetail } from '../../store/run-store.js';
import { redactUrls } from '../../storage/redact-url.js';
import { markRunDir } from '../../executor/run-marker.js';
import { stderrLogger } from '../stderr-logger.js';
import { bundleDirOf, storeDirOf, type LeaderPlan } from './plan.js';

export function readPlan(bundleMount: string, planKey: string): LeaderPlan {
  const file = path.join(bundleMount, planKey);
  if (!existsSync(file)) throw new UsageError(`no run plan at ${file}: strand leader runs in the pod strand submit makes`);
  const plan = parseJsonExact(readFileSync(file, 'utf8')) as LeaderPlan;
  if (plan.version !== 1 && plan.version !== 2) throw new UsageError(`${file}: run plan version ${String(plan.version)} is not one this Strand knows (1, 2)`);
  if (plan.version === 1 && plan.job === undefined) throw new UsageError(`${file}: a version 1 run plan has its job in it, and this one has none`);
  return plan;
}

/**
 * Where the leader reads the job: the job Secret's file (plan version 2), or the bundle's job.json
 * (version 1, written there by materializeBundle). Only a version 1 job is written on the workspace.
 */
export function jobFileOf(plan: LeaderPlan, bundleDir: string, jobMount: string, jobKey: string): string {
  return plan.job === undefined ? path.join(jobMount, jobKey) : path.join(bundleDir, 'job.json');
}

/** Copy the bundle onto the workspace; a file already there with the same bytes is left alone. */
export async function materializeBundle(plan: LeaderPlan, bundleMount: string): Promise<string> {
  const dir = bundleDirOf(plan.runRoot);
  for (const d of plan.dirs) await mkdir(path.join(dir, d), { recursive: true });
  const put = async (rel: string, bytes: Buffer) => {
    const target = path.join(dir, rel);
    const old = await readFile(target).catch(() => undefined);
    if (old?.equals(bytes)) return;
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(`${target}.strand-tmp`, bytes);
    await rename(`${target}.strand-tmp`, target);
  };
  for (const f of plan.files) await put(f.path, await readFile(path.join(bundleMount, f.key)));
  if (plan.job !== undefined) await put('job.json', Buffer.from(stringifyJsonExact(plan.job, 2) + '\n'));
  return dir;
}

/**
 * Mark the run's folder (<workspace>/strand-submit/<run>) as the run's, with its outputs' entry
 * (`out`, when --outdir is there) as one `strand clean` leaves in place. A leader without a
 * workspace keeps it on its pod's own disk, which goes with the pod: nothing to mark.
 */
async function markSubmittedRun(plan: LeaderPlan, env: LeaderEnv): Promise<void> {
  if (!plan.kubernetes.workspace) return;
  const rel = path.relative(plan.runRoot, plan.outdir);
  const keep = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? [rel.split(path.sep)[0]!] : [];
  const owner = typeof plan.kubernetes.owner === 'string' ? plan.kubernetes.owner : undefined;
  await markRunDir(plan.runRoot, 'submitted-run', { runId: plan.runId, owner, namespace: env.namespace, leaderJob: env.jobName }, { keep });
}

export interface LeaderEnv {
  namespace: string;
  jobName?: string;
  jobUid?: string;
  pod?: string;
}

/**
 * Run the plan to its end and publish how it ended. Throws only when the leader itself fails
 * (the cluster unreachable, the workspace unwritable...): then its Job starts another leader pod.
 */
export async function runLeader(
  plan: LeaderPlan,
  bundleMount: string,
  env: LeaderEnv,
  publish: {
    publish(json: string): void;
    flush(): Promise<void>;
  },
  jobFile: (bundleDir: string) => string,
  out: { stdout: (text: string) => void; stderr: (text: string) => void } = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) },
): Promise<RunStatus> {
  // What the leader writes goes to its pod's log, which the cluster keeps: URLs without their credentials.
  const say = { stdout: (t: string) => out.stdout(redactUrls(t)), stderr: (t: string) => out.stderr(redactUrls(t)) };
  const bundleDir = await materializeBundle(plan, bundleMount);
  await markSubmittedRun(plan, env);
  const jobPath = jobFile(bundleDir);
  const storeDir = storeDirOf(plan.runRoot);
  const runOwner = env.jobName && env.jobUid ? { apiVersion: 'batch/v1', kind: 'Job', name: env.jobName, uid: env.jobUid } : undefined;
  const config = resolveConfig(
    {
      outdir: plan.outdir,
      executor: 'kubernetes',
      storeDir,
      cache: plan.cache ?? 'readwrite',
      executorOverrides: { namespace: env.namespace, ...(runOwner ? { runOwner } : {}) },
      ...(plan.retry ? { retries: plan.retry.retries } : {}),
      ...(plan.onError ? { onError: plan.onError } : {}),
      ...(plan.noContainer ? { noContainer: true } : {}),
    },
    process.env,
    bundleDir,
    {
      path: `the run plan of ${plan.runId}`,
      kubernetes: plan.kubernetes,
      ...(plan.storage ? { storage: plan.storage as StorageSettings } : {}),
      ...(plan.retry ? { retry: { backoffMs: plan.retry.backoffMs, maxBackoffMs: plan.retry.maxBackoffMs } } : {}),
    },
  );
  const log = stderrLogger(config);
  log.info(`leader of run ${plan.runId}${env.pod ? ` (pod ${env.pod})` : ''}: bundle in ${bundleDir}, run store in ${storeDir}, outputs to ${plan.outdir}`);
  let process_, inputs;
  try {
    process_ = await loadDocument(path.join(bundleDir, plan.document), { onWarning: (m) => log.warn(m) });
    inputs = await loadJob(jobPath);
  } catch (err) {
    // The same bundle fails the same way in the next pod: that is the run's end, not the leader's.
    if (!isStrandError(err)) throw err;
    const now = new Date();
    const failed: RunDetail = {
      id: plan.runId,
      status: 'failed',
      startedAt: now.toISOString(),
      finishedAt: now.toISOString(),
      durationMs: 0,
      tasks: { total: 0, ok: 0, failed: 0, running: 0, reused: 0, queued: 0, cancelled: 0 },
      message: redactUrls(errorMessage(err)),
      steps: [],
      attempts: [],
    };
    publish.publish(JSON.stringify(snapshotOf(failed, now)));
    await publish.flush();
    say.stderr(`strand: error: ${errorMessage(err)}\n[strand] run ${plan.runId} failed\n`);
    return 'failed';
  }

  // The published state: taken from the run store (a second, reading connection) when events come.
  const reader = openRunStore(storeDir);
  const snapshot = () => {
    const run = reader.getRun(plan.runId);
    return run ? JSON.stringify(snapshotOf(run)) : undefined;
  };
  let dirty = false;
  const tick = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    const s = snapshot();
    if (s) publish.publish(s);
  }, Math.max(250, Math.floor(plan.publishIntervalMs / 2)));
  tick.unref();

  const outcome = await runDocument({
    document: path.join(bundleDir, plan.document),
    inputs,
    jobPath,
    config,
    process: process_,
    runId: plan.runId,
    log,
    onEvent: () => {
      dirty = true;
    },
  });
  clearInterval(tick);
  const last = snapshot();
  if (last) publish.publish(last);
  await publish.flush();
  reader.close();
  // The run is over: its copy of the bundle is of no more use (the store, with the task logs, and
  // the outputs stay; strand clean removes the store once the leader Job has finished).
  await rm(bundleDir, { recursive: true, force: true }).catch(() => undefined);
  if (outcome.status === 'success') {
    say.stdout(stringifyJsonExact(outcome.outputs ?? {}, 4) + '\n');
    log.info(`run ${plan.runId} finished: success`);
    return 'success';
  }
  say.stderr(`strand: error: ${errorMessage(outcome.error)}\n[strand] run ${plan.runId} ${outcome.status}\n`);
  return outcome.status;
}
