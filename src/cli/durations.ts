/** Durations on the command line: `90`, `90s`, `10m`, `2h`, `30d` -> seconds. */
import { InvalidArgumentError } from 'commander';

export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration like 600, 90s, 10m, 2h or 30d');
  const unit = m[2] === 'd' ? 86400 : m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1;
  const n = Number(m[1]) * unit;
  if (n < 1) throw new InvalidArgumentError('expected at least one second');
  return Math.round(n);
}
