/**
 * How many tasks are prepared ahead of the executor. A scatter hands the tool layer all its jobs at
 * once; preparing every one of them at the same moment (task directories, staged inputs, command
 * lines, cache keys: thousands of file-system calls) floods the thread pool and the event loop
 * while the executor can only start a few, and the hand-over from one task's end to the next
 * task's start waits behind that work. The window lets a task be prepared only while fewer than
 * `size` others are being prepared or wait for the executor; a task leaves the window when its
 * process starts (or when it ends without starting: a cache hit, a failure, a cancel). Running
 * tasks are not counted: the executor bounds those.
 *
 * First come, first served, so a scatter's jobs start in their order. Nothing waits while holding
 * a place except for the executor, so no task can block another that it needs.
 */
export class TaskWindow {
  private inside = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!(size >= 1)) throw new RangeError(`a task window needs a size of at least 1, got ${size}`);
  }

  /**
   * Resolves with a `leave` function once there is room. Nothing listens to a cancel here (a
   * listener per waiting task would be thousands on one signal): a cancelled run's tasks end
   * quickly, each passing its place on, and the caller checks its signal once in.
   */
  async enter(): Promise<() => void> {
    if (this.inside < this.size) {
      this.inside++;
    } else {
      // the place passes on to this task: `inside` is unchanged
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return this.leaver();
  }

  /** Tasks being prepared or waiting for the executor, and tasks waiting to be prepared. */
  get counts(): { inside: number; waiting: number } {
    return { inside: this.inside, waiting: this.waiting.length };
  }

  private leaver(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next) next(); // the place passes on: `inside` stays
      else this.inside--;
    };
  }
}

/** Twice the executor's slots, and at least 8 (cache hits never take a slot); none without slots. */
export function taskWindowFor(executor: { readonly slots?: number }): TaskWindow | undefined {
  const slots = executor.slots;
  if (slots === undefined || !Number.isFinite(slots) || slots < 1) return undefined;
  return new TaskWindow(Math.max(8, 2 * Math.ceil(slots)));
}
