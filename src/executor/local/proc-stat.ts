/**
 * /proc/<pid>/stat, the fields after the command name (which may hold spaces and parentheses):
 * index 0 is field 3 (state), 1 ppid, 2 pgrp, 3 session, 11..14 utime..cstime, 19 starttime,
 * 21 rss. Undefined when the process is gone (or /proc is not there).
 */
import { readFileSync } from 'node:fs';

export function procStatFields(procRoot: string, pid: number | string): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
