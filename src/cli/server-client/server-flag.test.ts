import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { isServerWord, refuseWithServer, separateServerFlag, serverChoice } from './server-flag.js';

const names = ['lab'];
const isServer = (w: string) => isServerWord(w, names);

describe('separateServerFlag', () => {
  it('gives back a word after --server that is no server, to the command', () => {
    expect(separateServerFlag(['show', '--server', '20261123-101500-ab12'], isServer)).toEqual(['show', '--server=', '20261123-101500-ab12']);
    expect(separateServerFlag(['submit', '--server', 'wf.cwl', 'job.yml'], isServer)).toEqual(['submit', '--server=', 'wf.cwl', 'job.yml']);
    expect(separateServerFlag(['--debug', 'logs', '-f', '--server', 'RUN'], isServer)).toEqual(['--debug', 'logs', '-f', '--server=', 'RUN']);
  });

  it('keeps a server name or URL, an option after --server, and other commands as they are', () => {
    for (const argv of [
      ['show', '--server', 'lab', 'RUN'],
      ['show', '--server', 'https://strand.lab.example', 'RUN'],
      ['list', '--server', '-n', '3'],
      ['list', '--server'],
      ['list', '--server=lab'],
      ['run', 'wf.cwl', '--server', 'x'],
      ['show', 'RUN', '--', '--server', 'x'],
    ]) {
      expect(separateServerFlag(argv, isServer), argv.join(' ')).toEqual(argv);
    }
  });
});

describe('serverChoice', () => {
  it('reads --server absent, bare (the default), empty (the default) and named', () => {
    expect(serverChoice(undefined)).toBeUndefined();
    expect(serverChoice(true)).toEqual({});
    expect(serverChoice('')).toEqual({});
    expect(serverChoice('lab')).toEqual({ server: 'lab' });
  });
});

describe('refuseWithServer', () => {
  it('names the options given on the command line that mean nothing with --server', async () => {
    const seen: unknown[] = [];
    const cmd = new Command('x').exitOverride().option('--store <dir>').option('--namespace <ns>').option('--json').action((_f, c: Command) => {
      try {
        refuseWithServer(c, ['store', 'namespace']);
        seen.push('ok');
      } catch (err) {
        seen.push((err as Error).message);
      }
    });
    await cmd.parseAsync(['--json'], { from: 'user' });
    await cmd.parseAsync(['--store', 'd', '--namespace', 'n'], { from: 'user' });
    expect(seen).toEqual(['ok', '--store, --namespace do not apply with --server: the lab server decides']);
  });
});
