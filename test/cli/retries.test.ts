/**
 * Failed tasks retried (--retries, strand.yaml `retry:`, the strand:TaskRetry hint) and runs that
 * keep going after a failure (--on-error continue), with real small tools: a tool that fails the
 * first time it sees an input (a marker directory the test owns) and succeeds on its retry.
 * Each retry is an attempt of its own in the run store; the summary line, strand list and
 * strand show count it. STRAND_TEST_BIN runs another build (an older one, to see these fail).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { built, runStrand } from '../support/strand-cli.js';

let dir = '';
let markers = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-retries-'));
  markers = path.join(dir, 'markers');
  mkdirSync(markers);
  // Short waits between attempts, so that the tests do not sleep for the default 1 s.
  writeFileSync(path.join(dir, 'strand.yaml'), 'retry: {backoff: 20ms, maxBackoff: 100ms}\n');
  // Fails (exit 5) the first time it runs for an input, succeeds after: the marker says it ran.
  writeFileSync(
    path.join(dir, 'flaky.cwl'),
    `cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'if mkdir "$1/$0" 2>/dev/null; then echo "first try of $0 fails" >&2; exit 5; fi; echo "$0" > out.txt']
inputs:
  x: {type: string, inputBinding: {position: 1}}
  markers: {type: string, inputBinding: {position: 2}}
outputs:
  out: {type: File, outputBinding: {glob: out.txt}}
`,
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const store = () => path.join(dir, 'store');
const strand = (args: string[]) => runStrand(args, { cwd: dir, env: { ...process.env, STRAND_STORE: store(), TMPDIR: dir } });
const runIdOf = (stderr: string) => /run (\d{8}-\d{6}-\S+?) (started|finished|failed)/.exec(stderr)?.[1] ?? 'missing';
const triesOf = (x: string) => (existsSync(path.join(markers, x)) ? 1 : 0);

function withHint(retries: number): string {
  const file = path.join(dir, `hinted-${retries}.cwl`);
  const flaky = path.join(dir, 'flaky.cwl');
  writeFileSync(
    file,
    `cwlVersion: v1.2
$namespaces: {strand: "https://strand.dev/cwl#"}
class: Workflow
hints: [{class: "strand:TaskRetry", retries: ${retries}}]
inputs: {x: string, markers: string}
outputs: {out: {type: File, outputSource: s/out}}
steps:
  s: {run: ${flaky}, in: {x: x, markers: markers}, out: [out]}
`,
  );
  return file;
}

describe.skipIf(!built)('--retries', () => {
  it('a task that fails once and then succeeds: 1 succeeded task, 1 failed attempt shown as retried', async () => {
    const ran = await strand(['run', '--retries', '2', '--outdir', path.join(dir, 'out'), 'flaky.cwl', '--x', 'a', '--markers', markers]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout).out.basename).toBe('out.txt');
    expect(ran.stderr).toMatch(/attempt 1 failed \(exit code 5\); retry 1 of 2 in \d+ ms/);
    expect(ran.stderr).toMatch(/tasks: 1 run, 0 reused, 0 failed; 1 failed attempt retried/);
    const runId = runIdOf(ran.stderr);
    const list = (await strand(['list'])).stdout;
    expect(list).toMatch(new RegExp(`${runId}\\s+success\\s.*\\s1/0 \\(1 retried\\)\\s`));
    const show = (await strand(['show', runId])).stdout;
    expect(show).toMatch(/2 attempts: 1 ok, 1 failed \(1 of them retried\)/);
    expect(show).toMatch(/flaky \(attempt 1\): failed, exit 5, \S+, retried\n/);
    expect(show).toMatch(/first try of a fails/);
    expect(show).toMatch(/flaky \(attempt 2\): succeeded, exit 0/);
    const json = JSON.parse((await strand(['show', '--json', runId])).stdout) as { tasks: Record<string, number>; attempts: { attempt: number; phase: string }[] };
    expect(json.tasks).toMatchObject({ total: 2, ok: 1, failed: 1, retried: 1 });
    expect(json.attempts.map((a) => `${a.attempt}:${a.phase}`)).toEqual(['1:failed', '2:succeeded']);
  });

  it('without retries the same task fails (and retry.count in strand.yaml gives them)', async () => {
    const once = await strand(['run', '--cache', 'off', 'flaky.cwl', '--x', 'b', '--markers', markers]);
    expect(once.code).toBe(1);
    expect(once.stderr).toMatch(/tasks: 0 run, 0 reused, 1 failed ·/);
    writeFileSync(path.join(dir, 'strand.yaml'), 'retry: {count: 1, backoff: 20ms}\n');
    const fromFile = await strand(['run', '--cache', 'off', '--outdir', path.join(dir, 'out'), 'flaky.cwl', '--x', 'c', '--markers', markers]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stderr).toMatch(/1 failed attempt retried/);
  });

  it('a task killed by a signal is retried; a command that cannot be found is not', async () => {
    writeFileSync(
      path.join(dir, 'killed.cwl'),
      `cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'if mkdir "$0/killed" 2>/dev/null; then kill -9 $$; fi; echo ok']
inputs: {markers: {type: string, inputBinding: {position: 1}}}
outputs: []
`,
    );
    const killed = await strand(['run', '--retries', '1', 'killed.cwl', '--markers', markers]);
    expect(killed.code, killed.stderr).toBe(0);
    expect(killed.stderr).toMatch(/attempt 1 failed \(was killed by signal SIGKILL\); retry 1 of 1/);
    writeFileSync(path.join(dir, 'missing.cwl'), 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: strand-no-such-command\ninputs: []\noutputs: []\n');
    const missing = await strand(['run', '--retries', '2', 'missing.cwl']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).not.toMatch(/retry 1 of/);
    expect(missing.stderr).toMatch(/not retried: it could not be run/);
  });

  it('exit codes the tool lists in permanentFailCodes are not retried', async () => {
    writeFileSync(
      path.join(dir, 'permanent.cwl'),
      `cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'echo ran >> "$0/ran"; exit 5']
permanentFailCodes: [5]
inputs: {markers: {type: string, inputBinding: {position: 1}}}
outputs: []
`,
    );
    const ran = await strand(['run', '--retries', '3', 'permanent.cwl', '--markers', markers]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/not retried: the tool lists exit code 5 in permanentFailCodes/);
    expect(ran.stderr).not.toMatch(/retry 1 of/);
  });

  it("a tool's strand:TaskRetry hint wins over --retries", async () => {
    // The hint says no retry: --retries 3 does not give one.
    const none = await strand(['run', '--cache', 'off', '--retries', '3', withHint(0), '--x', 'd', '--markers', markers]);
    expect(none.code).toBe(1);
    expect(none.stderr).not.toMatch(/retry 1 of/);
    expect(triesOf('d')).toBe(1);
    // The hint gives one retry where the flag gives none.
    const one = await strand(['run', '--cache', 'off', '--outdir', path.join(dir, 'out'), withHint(1), '--x', 'e', '--markers', markers]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toMatch(/retry 1 of 1 in/);
  });

  it('--help teaches --retries and --on-error', async () => {
    const help = (await strand(['run', '--help'])).stdout;
    expect(help).toMatch(/--retries <n>/);
    expect(help).toMatch(/--on-error <mode>/);
    expect(help).toMatch(/strand:TaskRetry/);
  });
});

describe.skipIf(!built)('--on-error continue', () => {
  const scatter = () => {
    const file = path.join(dir, 'scatter.cwl');
    writeFileSync(
      file,
      `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {ns: "int[]", markers: string}
outputs:
  each: {type: "File[]", outputSource: work/o}
  all: {type: File, outputSource: gather/all}
  side: {type: File, outputSource: other/o}
steps:
  work:
    scatter: n
    in: {n: ns, markers: markers}
    out: [o]
    run:
      class: CommandLineTool
      inputs: {n: {type: int, inputBinding: {position: 1}}, markers: {type: string, inputBinding: {position: 2}}}
      baseCommand: [sh, -c, 'touch "$1/ran-$0"; case $0 in 3|7) echo "item $0 is bad" >&2; exit 3;; esac; echo "item $0"']
      stdout: item.txt
      outputs: {o: stdout}
  gather:
    in: {fs: work/o}
    out: [all]
    run:
      class: CommandLineTool
      inputs: {fs: {type: "File[]", inputBinding: {position: 1}}}
      baseCommand: cat
      stdout: all.txt
      outputs: {all: stdout}
  other:
    in: {markers: markers}
    out: [o]
    run:
      class: CommandLineTool
      inputs: {markers: {type: string, inputBinding: {position: 1}}}
      baseCommand: [sh, -c, 'touch "$0/ran-other"; echo side']
      stdout: side.txt
      outputs: {o: stdout}
`,
    );
    return file;
  };
  const ns = Array.from({ length: 10 }, (_, i) => ['--ns', String(i)]).flat();
  const ranItems = () => readdirSync(markers).filter((n) => /^ran-\d+$/.test(n)).length;

  it('2 of 10 scatter jobs fail: the 8 others and the independent step run, the run fails naming both', async () => {
    const out = path.join(dir, 'out');
    const ran = await strand(['run', '--on-error', 'continue', '--outdir', out, scatter(), ...ns, '--markers', markers]);
    expect(ran.code).toBe(1);
    expect(ranItems()).toBe(10);
    expect(existsSync(path.join(markers, 'ran-other'))).toBe(true);
    expect(ran.stderr).toMatch(/2 failures \(the run went on with --on-error continue\)/);
    expect(ran.stderr).toMatch(/step scatter\/work\/3 failed: exit code 3[^\n]*\n\s+item 3 is bad/);
    expect(ran.stderr).toMatch(/step scatter\/work\/7 failed: exit code 3/);
    expect(ran.stderr).toMatch(/not run, as they need outputs of failed steps: scatter\/gather/);
    expect(ran.stderr).toMatch(/tasks: 9 run, 0 reused, 2 failed/);
    // The outputs that could be computed are delivered, null where a failure left a hole (as cwltool).
    const outputs = JSON.parse(ran.stdout) as { each: (unknown | null)[]; all: unknown; side: { path: string } };
    expect(outputs.each.map((f) => f === null)).toEqual([false, false, false, true, false, false, false, true, false, false]);
    expect(outputs.all).toBeNull();
    expect(existsSync(outputs.side.path)).toBe(true);
    const list = (await strand(['list'])).stdout;
    expect(list).toMatch(/failed\s.*\s9\/2\s/);
  });

  it('a --resume after it reruns only the failed jobs and may replace the outputs it delivered', async () => {
    const out = path.join(dir, 'out');
    const first = await strand(['run', '--on-error', 'continue', '--outdir', out, scatter(), ...ns, '--markers', markers]);
    expect(first.code).toBe(1);
    expect(readdirSync(out).length).toBe(9);
    const resumed = await strand(['run', '--resume', '--on-error', 'continue']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/tasks: 0 run, 9 reused, 2 failed/);
    // The partial outputs of the first run are Strand's: the second delivers over them.
    expect(resumed.stderr).toMatch(/the outputs that could be computed are in /);
    expect(resumed.stderr).not.toMatch(/were not delivered/);
  });

  it('stop (the default) cancels the rest of the run at the first failure', async () => {
    const ran = await strand(['run', '--parallel', '1', scatter(), ...ns, '--markers', markers]);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('');
    expect(ranItems()).toBeLessThan(10);
    expect(ran.stderr).not.toMatch(/--on-error continue/);
  });

  it('stop: the run ends once the jobs it cancelled have, so every task is recorded as ended and the counts add up', async () => {
    const wf = path.join(dir, 'slow.cwl');
    writeFileSync(
      wf,
      `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {ns: "int[]"}
outputs: {o: {type: "File[]", outputSource: work/o}}
steps:
  work:
    scatter: n
    in: {n: ns}
    out: [o]
    run:
      class: CommandLineTool
      inputs: {n: {type: int, inputBinding: {position: 1}}}
      baseCommand: [sh, -c, 'if [ $0 = 3 ]; then exit 3; fi; sleep 0.2']
      outputs: {o: stdout}
`,
    );
    // Enough jobs that some are still being prepared, queued or stopped when the failure comes.
    const many = Array.from({ length: 300 }, (_, i) => ['--ns', String(i)]).flat();
    const ran = await strand(['run', '--parallel', '4', '--cache', 'off', wf, ...many]);
    expect(ran.code).toBe(1);
    const summary = /tasks: (\d+) run, 0 reused, (\d+) failed, (\d+) cancelled/.exec(ran.stderr);
    expect(summary, ran.stderr).not.toBeNull();
    expect(summary!.slice(1).map(Number).reduce((a, b) => a + b)).toBe(300);
    const json = JSON.parse((await strand(['show', '--json', runIdOf(ran.stderr)])).stdout) as { tasks: Record<string, number> };
    expect(json.tasks).toMatchObject({ total: 300, failed: 1, running: 0, queued: 0 });
    expect(json.tasks.ok! + json.tasks.cancelled!).toBe(299);
  });

  it('with --retries, a flaky job is retried and the run succeeds under continue too', async () => {
    const flaky = path.join(dir, 'flaky.cwl');
    const wf = path.join(dir, 'flaky-scatter.cwl');
    writeFileSync(
      wf,
      `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {xs: "string[]", markers: string}
outputs: {out: {type: "File[]", outputSource: s/out}}
steps:
  s: {run: ${flaky}, scatter: x, in: {x: xs, markers: markers}, out: [out]}
`,
    );
    const ran = await strand(['run', '--retries', '1', '--on-error', 'continue', '--outdir', path.join(dir, 'out'), wf, '--xs', 'p', '--xs', 'q', '--xs', 'r', '--markers', markers]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/tasks: 3 run, 0 reused, 0 failed; 3 failed attempts retried/);
  });
});
