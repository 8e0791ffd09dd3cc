/** Running the built `strand` CLI as a child process, for the CLI tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const repo = path.resolve(import.meta.dirname, '../..');
/** STRAND_TEST_BIN runs another build (an older one, to see a test fail on it). */
export const strandBin = process.env.STRAND_TEST_BIN ?? path.join(repo, 'bin/strand.js');
/** The CLI tests need `npm run build` first; they skip, saying so, without it. */
export const built = existsSync(path.join(repo, 'dist/src/cli/main.js'));

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runStrand(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; onSpawn?: (child: ChildProcess) => void }): Promise<Ran> {
  return runCommand(process.execPath, [strandBin, ...args], opts);
}

/** Any command (e.g. `unshare` around a strand run), with its output collected. */
export function runCommand(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; onSpawn?: (child: ChildProcess) => void }): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    opts.onSpawn?.(child);
  });
}
