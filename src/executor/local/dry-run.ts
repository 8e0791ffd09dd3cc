/**
 * `strand run --dry-run` with the local executor: prints, for every task whose inputs exist now,
 * what would run (command line with its redirections, working directory, image, resources) and
 * runs nothing. Later steps need outputs of earlier ones, so they are not reached.
 *
 * Each task ends as `cancelled` (not run), which stops the run. The results are held back until no
 * new task has arrived for a moment, so that independent steps still being prepared are printed
 * too instead of being cancelled by the first one.
 */
import type { Executor, TaskResult, TaskSpec } from '../executor.js';
import { redactUrls } from '../../storage/redact-url.js';
import { findOnPath } from './container.js';

/** The client a dry run names for an image (not probed: a real run checks that it works). */
const clientOnPath = (): string | undefined => findOnPath('podman', process.env.PATH) ?? findOnPath('docker', process.env.PATH);

export const LOCAL_DRY_RUN_MESSAGE = 'dry run: not run';

/** Time without a new task before the tasks held so far are ended. */
const QUIET_MS = 300;

export class LocalDryRunExecutor implements Executor {
  readonly name = 'local';
  /** Tasks printed. */
  tasks = 0;
  private held: Array<(r: TaskResult) => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly output: NodeJS.WritableStream) {}

  run(spec: TaskSpec): Promise<TaskResult> {
    this.tasks++;
    this.output.write(redactUrls(describeTask(spec)) + '\n');
    return new Promise((resolve) => {
      this.held.push(resolve);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.release(), QUIET_MS);
    });
  }

  private release(): void {
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve({ reason: 'cancelled', exitCode: null, message: LOCAL_DRY_RUN_MESSAGE });
  }

  async shutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.release();
  }
}

/** The lines printed for one task. */
export function describeTask(spec: TaskSpec, runtime: () => string | undefined = clientOnPath): string {
  let command = spec.argv.map(shellWord).join(' ');
  if (spec.stdin !== undefined) command += ` < ${shellWord(spec.stdin)}`;
  if (spec.stdout !== undefined) command += ` > ${shellWord(spec.stdout)}`;
  if (spec.stderr !== undefined) command += spec.stderr === spec.stdout ? ' 2>&1' : ` 2> ${shellWord(spec.stderr)}`;
  const lines = [`task ${spec.taskId}`, `  command: ${command}`, `  workdir: ${spec.workDir} (made for the run, removed after it)`];
  if (spec.image) lines.push(`  image:   ${spec.image} (with ${runtime() ?? 'podman or docker: none found'})`);
  const r = spec.resources;
  lines.push(`  needs:   ${r.cores} core${r.cores === 1 ? '' : 's'}, ${r.ramMiB} MiB RAM`);
  return lines.join('\n');
}

/** A word as a POSIX shell would need it written. */
function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}
