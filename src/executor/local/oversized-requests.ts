/**
 * Tasks that ask for more cores or memory than this machine has (ResourceRequirement coresMin /
 * ramMin): the local executor runs them anyway, with what there is (resource-pool.ts clamps their
 * request to the pool), as cwltool does; toil refuses them. This says so, once per step (or lone
 * tool), not once per scatter job or attempt.
 */
import os from 'node:os';
import { stepOf, type TaskResources } from '../executor.js';

export interface MachineSize {
  cores: number;
  ramMiB: number;
}

export function thisMachine(): MachineSize {
  return { cores: os.availableParallelism(), ramMiB: Math.floor(os.totalmem() / (1024 * 1024)) };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What `stepPath` asks for beyond `machine`, as a warning; undefined when the machine has it. */
export function oversizeMessage(stepPath: string, asked: TaskResources, machine: MachineSize): string | undefined {
  const over: string[] = [];
  const has: string[] = [];
  if (asked.cores > machine.cores) {
    over.push(`coresMin ${asked.cores}`);
    has.push(plural(machine.cores, 'core'));
  }
  if (asked.ramMiB > machine.ramMiB) {
    over.push(`ramMin ${asked.ramMiB} MiB`);
    has.push(`${machine.ramMiB} MiB of memory`);
  }
  if (over.length === 0) return undefined;
  // A lone tool's path is its name; a step's is `workflow/step`.
  const who = stepPath.includes('/') ? `step ${stepPath}` : `tool ${stepPath}`;
  return `${who} asks for ${over.join(' and ')} (ResourceRequirement), more than this machine has (${has.join(', ')}); it runs with what there is`;
}

/** Warns through `warn` the first time each step asks for more than `machine`. */
export class OversizeWarnings {
  private readonly seen = new Set<string>();

  constructor(
    private readonly warn: (message: string) => void,
    private readonly machine: MachineSize = thisMachine(),
  ) {}

  /** `taskPath`: the task's step path, with its scatter indices (`main/align/3`). */
  check(taskPath: string, asked: TaskResources | undefined): void {
    const step = stepOf(taskPath);
    if (!asked || this.seen.has(step)) return;
    const message = oversizeMessage(step, asked, this.machine);
    if (message === undefined) return;
    this.seen.add(step);
    this.warn(message);
  }
}
