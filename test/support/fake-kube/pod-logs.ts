/** A container's combined stdout+stderr, kept by line with arrival times, with live followers. */

export interface LogLine {
  ts: string;
  text: string;
}

export class ContainerLog {
  readonly lines: LogLine[] = [];
  private partial = '';
  private partialTs = '';
  private followers = new Set<(chunk: LogLine | null) => void>();
  ended = false;

  write(chunk: Buffer | string): void {
    const now = new Date().toISOString();
    let s = this.partial + chunk.toString();
    if (!this.partial) this.partialTs = now;
    let i: number;
    while ((i = s.indexOf('\n')) >= 0) {
      const line = { ts: this.partialTs || now, text: s.slice(0, i + 1) };
      this.lines.push(line);
      for (const f of this.followers) f(line);
      s = s.slice(i + 1);
      this.partialTs = now;
    }
    this.partial = s;
  }

  /** The process is gone: flush a last unterminated line and release followers. */
  end(): void {
    if (this.ended) return;
    if (this.partial) {
      const line = { ts: this.partialTs, text: this.partial };
      this.lines.push(line);
      for (const f of this.followers) f(line);
      this.partial = '';
    }
    this.ended = true;
    for (const f of this.followers) f(null);
    this.followers.clear();
  }

  follow(cb: (line: LogLine | null) => void): () => void {
    this.followers.add(cb);
    return () => this.followers.delete(cb);
  }

  text(): string {
    return this.lines.map((l) => l.text).join('') + this.partial;
  }
}
