/**
 * `npm run conformance`: run the CWL v1.2 conformance suite against the Strand CLI (or another
 * runner), compare outputs with cwltest's rules, print a per-tag summary, check a committed floor.
 */
import { spawn } from 'node:child_process';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster.js';
import { startFakeObjectStoreCluster, type FakeObjectStoreCluster } from '../support/fake-object-store-cluster.js';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { compareValues, parseExactJson } from './compare.js';
import { readSuite, type ConformanceTest } from './suite.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

type Status = 'pass' | 'fail' | 'unsupported' | 'timeout';
interface Result {
  id: string;
  tags: string[];
  status: Status;
  durationMs: number;
  reason?: string;
  stderrTail?: string;
}

/**
 * Run one test as cwltest does: in the suite's root directory, with the tool and job paths
 * relative to it, and the output compared (files read from disk) before the output directory
 * is removed.
 */
function runOne(t: ConformanceTest, runner: string[], timeoutMs: number, env: NodeJS.ProcessEnv): Promise<Result> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'strand-conf-'));
  const args = [...runner.slice(1), `--outdir=${outdir}`, '--quiet', t.toolArg, ...(t.jobArg ? [t.jobArg] : [])];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(runner[0] as string, args, { cwd: t.root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    const judge = (code: number | null): Omit<Result, 'id' | 'tags' | 'durationMs' | 'stderrTail'> => {
      if (timedOut) return { status: 'timeout', reason: `timed out after ${timeoutMs} ms` };
      // As cwltest: exit 33 is "unsupported" only on a test not tagged required.
      if (code === 33 && !t.tags.includes('required')) return { status: 'unsupported', reason: 'exit 33 (unsupported requirement)' };
      if (t.shouldFail) return code !== 0 ? { status: 'pass' } : { status: 'fail', reason: 'should fail, but exited 0' };
      if (code !== 0) return { status: 'fail', reason: `exit code ${code}` };
      let actual: unknown;
      try {
        actual = parseExactJson(stdout);
      } catch {
        return { status: 'fail', reason: `stdout is not JSON: ${stdout.slice(0, 200)}` };
      }
      const diff = compareValues(t.output ?? null, actual, t.root);
      return diff ? { status: 'fail', reason: diff } : { status: 'pass' };
    };
    const finish = (code: number | null) => {
      clearTimeout(timer);
      const verdict = judge(code);
      rmSync(outdir, { recursive: true, force: true });
      resolve({ id: t.id, tags: t.tags, durationMs: Date.now() - started, stderrTail: stderr.split('\n').slice(-15).join('\n'), ...verdict });
    };
    child.on('error', (err) => {
      stderr += String(err);
      finish(-1);
    });
    child.on('close', finish);
  });
}

/**
 * Run `tests`, `jobs` at once, except those marked `alone`, which run first, one at a time, with
 * nothing beside them. Results are in the order of `tests`.
 */
async function runAll(
  tests: ConformanceTest[],
  jobs: number,
  run: (t: ConformanceTest) => Promise<Result>,
  onDone: (r: Result) => void,
  alone: (t: ConformanceTest) => boolean = () => false,
) {
  const results: Result[] = new Array(tests.length);
  const order = tests.map((t, i) => ({ t, i }));
  const runIndexed = async ({ t, i }: { t: ConformanceTest; i: number }) => {
    results[i] = await run(t);
    onDone(results[i] as Result);
  };
  for (const x of order.filter((x) => alone(x.t))) await runIndexed(x);
  const rest = order.filter((x) => !alone(x.t));
  let next = 0;
  const worker = async () => {
    while (next < rest.length) await runIndexed(rest[next++] as { t: ConformanceTest; i: number });
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return results;
}

function summary(results: Result[]): string {
  const tags = new Map<string, Record<Status, number>>();
  for (const r of results) {
    for (const tag of r.tags.length ? r.tags : ['(untagged)']) {
      const row = tags.get(tag) ?? { pass: 0, fail: 0, unsupported: 0, timeout: 0 };
      row[r.status]++;
      tags.set(tag, row);
    }
  }
  const lines = [`${'tag'.padEnd(28)} ${'passed'.padStart(7)} ${'failed'.padStart(7)} ${'unsupp.'.padStart(7)} ${'total'.padStart(7)}`];
  for (const [tag, row] of [...tags.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const total = row.pass + row.fail + row.unsupported + row.timeout;
    lines.push(
      `${tag.padEnd(28)} ${String(row.pass).padStart(7)} ${String(row.fail + row.timeout).padStart(7)} ${String(row.unsupported).padStart(7)} ${String(total).padStart(7)}`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const program = new Command('conformance')
    .description('Run the CWL v1.2 conformance suite against Strand')
    .option('--suite <file>', 'suite index', path.resolve(repo, '../shared/cwl-v1.2/conformance_tests.yaml'))
    .option('--runner <cmd>', 'command to run instead of Strand (e.g. "cwltool --no-container")')
    .option('--tags <list>', 'only tests with one of these tags')
    .option('--exclude-tags <list>', 'skip tests with any of these tags')
    .option('--ids <list>', 'only these test ids')
    .option('--match <regex>', 'only test ids matching this')
    .option('-j, --jobs <n>', 'tests at once', String(os.availableParallelism()))
    .option('--timeout <seconds>', 'per-test time limit (default 120; 600, cwltest\'s own default, with --cluster-config)')
    .option('--json <file>', 'write per-test results here')
    .option('--floor <file>', 'fail when fewer tests pass than this committed floor')
    .option('--update-floor', 'raise the floor file to the new pass count when higher')
    .option('--verbose', 'print every failure reason')
    .option('--container', 'run tools in their DockerRequirement images (default when a test tagged docker is selected)')
    .option('--no-container', 'run every tool on the host, ignoring DockerRequirement (default when no test tagged docker is selected)')
    .option('--executor <name>', 'run Strand with this executor; "kubernetes" runs every task as a Job on a fake API server (test/support/fake-kube)', 'local')
    .option('--cluster-config <file>', 'with --executor kubernetes: a strand.yaml for a real cluster (its kubernetes.kubeconfig, namespace, workspace) instead of the fake API server')
    .option('--storage <mode>', 'with --executor kubernetes on the fake API server: workspace (a shared claim) or objectStore (no shared volume: a bucket on an S3 server started here)', 'workspace');
  program.parse();
  const o = program.opts<Record<string, string | boolean | undefined>>();
  const list = (v: unknown) => (typeof v === 'string' && v ? v.split(',').map((s) => s.trim()) : undefined);
  const include = list(o.tags);
  const exclude = list(o.excludeTags) ?? [];
  const ids = list(o.ids);
  const match = typeof o.match === 'string' ? new RegExp(o.match) : undefined;

  const tests = readSuite(String(o.suite)).filter(
    (t) =>
      (!include || t.tags.some((g) => include.includes(g))) &&
      !t.tags.some((g) => exclude.includes(g)) &&
      (!ids || ids.includes(t.id)) &&
      (!match || match.test(t.id)),
  );
  // Tests tagged docker need containers; the others are the host-tools baseline unless asked otherwise.
  const containers = typeof o.container === 'boolean' ? o.container : tests.some((t) => t.tags.includes('docker'));
  const strand = [process.execPath, path.join(repo, 'bin/strand.js'), 'run', ...(containers ? [] : ['--no-container'])];
  const runner = typeof o.runner === 'string' ? o.runner.split(/\s+/) : strand;
  let env = { ...process.env };
  let cluster: FakeCluster | undefined;
  let osCluster: FakeObjectStoreCluster | undefined;
  if (o.executor === 'kubernetes' && typeof o.clusterConfig === 'string') {
    // A real cluster: every input outside its workspace is copied there by Strand.
    env = { ...process.env, STRAND_CONFIG: path.resolve(o.clusterConfig) };
    runner.push('--executor', 'kubernetes');
    process.stderr.write(`kubernetes executor on the cluster of ${o.clusterConfig}\n`);
  } else if (o.executor === 'kubernetes' && o.storage === 'objectStore') {
    // No shared volume: every task's files go through a bucket of a real S3 server on loopback.
    osCluster = await startFakeObjectStoreCluster({ bucket: 'strand-conformance' });
    env = { ...osCluster.env };
    runner.push('--executor', 'kubernetes');
    process.stderr.write(`kubernetes executor, object-store mode, against a fake API server at ${osCluster.kube.url} and S3 at ${osCluster.s3.endpoint}\n`);
  } else if (o.executor === 'kubernetes') {
    // The suite's own files are reference data: a read-only claim mounted where they are.
    // The suite's real path: Strand resolves its inputs through links (a ../shared that is a link
    // to the suite made every input "outside the data volume", copied, and the fake cannot remap).
    cluster = await startFakeCluster({ dataVolumes: { 'cwl-tests': realpathSync(path.dirname(path.resolve(String(o.suite)))) } });
    env = { ...cluster.env };
    runner.push('--executor', 'kubernetes');
    process.stderr.write(`kubernetes executor against a fake API server at ${cluster.kube.url}, workspace ${cluster.workspace}\n`);
  } else if (o.executor !== 'local') {
    throw new Error(`--executor: expected local or kubernetes, got ${String(o.executor)}`);
  }
  // A run store of its own (removed at the end when every test passed, else kept for `strand show`),
  // unless $STRAND_STORE names one.
  const ownStore = env.STRAND_STORE === undefined ? mkdtempSync(path.join(os.tmpdir(), 'strand-conf-store-')) : undefined;
  if (ownStore) env.STRAND_STORE = path.join(ownStore, 'store');
  // Every test runs its tools: the task cache off unless asked for ($STRAND_CACHE). Where it
  // lives can outlive the suite run (a cluster's workspace; object-store mode's work root in the
  // OS temp dir), and a result cached by an earlier run hid that a pod could not be scheduled on
  // the rig (cl_basic_generation, 2026-12-01: reused from a run on the fake API server).
  env.STRAND_CACHE ??= 'off';
  // On a real cluster a test's time includes the time its pods wait for room on the node, which
  // the other tests' pods hold, and the scheduler is not fair to a pod that already failed to fit:
  // Kubernetes 1.20 parks it (backoff, then the unschedulable queue, flushed every 60 s) while the
  // other workers' newer pods take each core that frees. Measured on the rig (2-CPU node, so two
  // 1-core pods at once; -j 4, object-store mode): the node's slots 92% busy, a pod "Insufficient
  // cpu" for 64.5 s while twelve pods created after it ran, and a two-step test over 120 s in CI
  // (step_input_default_value_noexp, 2026-12-07). So on a real cluster the limit is cwltest's own
  // default, 600 s: what is timed out there is a hang, not a queue.
  const timeoutMs = Number(o.timeout ?? (typeof o.clusterConfig === 'string' ? 600 : 120)) * 1000;
  const how = typeof o.runner === 'string' ? `with ${o.runner}` : containers ? 'with containers' : 'with host tools (--no-container)';
  process.stderr.write(`running ${tests.length} conformance tests ${how}, ${o.jobs} at once, at most ${timeoutMs / 1000} s each\n`);
  // On a cluster, a test whose tool asks for more than one core runs alone: its pod fits only a
  // node that the other workers' one-core pods leave free, and the scheduler places whichever
  // pending pod fits, so on the rig's 2-CPU node cl_basic_generation (coresMin 2) waited behind
  // them until its 120 s ran out (fresh-clone CI, 2026-12-01, object-store mode; in a run where
  // it passed: 42.8 s, its pod "Insufficient cpu" for 36 s; alone: 4.4 s). Each test is its own
  // Strand process: none of them can see the others' pods.
  const alone = (t: ConformanceTest) => o.executor === 'kubernetes' && Number(o.jobs) > 1 && t.coresMin > 1;
  const lonely = tests.filter(alone);
  if (lonely.length) process.stderr.write(`${lonely.length} test(s) asking for more than one core run first, one at a time: ${lonely.map((t) => t.id).join(', ')}\n`);
  let done = 0;
  const results = await runAll(tests, Number(o.jobs), (t) => runOne(t, runner, timeoutMs, env), (r) => {
    done++;
    if (r.status !== 'pass' && o.verbose) process.stderr.write(`  ${r.status.toUpperCase()} ${r.id}: ${r.reason ?? ''}\n`);
    if (done % 25 === 0) process.stderr.write(`  ${done}/${tests.length} done\n`);
  }, alone);

  if (cluster) {
    const counts = cluster.kube.requestCounts();
    process.stderr.write(`fake API server: peak ${cluster.kube.peakActiveJobs} active Jobs; requests ${JSON.stringify(counts)}\n`);
    await cluster.close();
  }
  await osCluster?.close();
  const passed = results.filter((r) => r.status === 'pass').length;
  if (ownStore && passed === results.length) rmSync(ownStore, { recursive: true, force: true });
  else if (ownStore) process.stderr.write(`the runs are in ${env.STRAND_STORE}: STRAND_STORE=${env.STRAND_STORE} strand list\n`);
  const unsupported = results.filter((r) => r.status === 'unsupported').length;
  const failed = results.length - passed;
  process.stdout.write(summary(results) + '\n\n');
  process.stdout.write(`overall: ${passed}/${results.length} passed (${((100 * passed) / Math.max(1, results.length)).toFixed(1)}%), ${unsupported} unsupported\n`);
  if (typeof o.json === 'string') writeFileSync(o.json, JSON.stringify({ passed, failed, total: results.length, results }, null, 2));
  process.stdout.write(`conformance: ${passed} passed, ${failed} failed\n`);

  if (typeof o.floor === 'string') {
    const floor = JSON.parse(readFileSync(o.floor, 'utf8')) as { passed: number; note?: string };
    if (o.updateFloor && passed > floor.passed) {
      writeFileSync(o.floor, JSON.stringify({ ...floor, passed }, null, 2) + '\n');
      process.stdout.write(`floor raised from ${floor.passed} to ${passed}\n`);
    } else if (passed < floor.passed) {
      process.stdout.write(`FAIL: ${passed} tests passed, below the floor of ${floor.passed} in ${o.floor}\n`);
      return 1;
    } else {
      process.stdout.write(`floor: ${passed} passed >= ${floor.passed} (${o.floor})\n`);
    }
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`conformance: ${String(err)}\n`);
    process.exit(2);
  },
);
