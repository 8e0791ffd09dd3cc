import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_MARKER, STALE_MS, liveness, markRunDir, readRunMarker, type FoundMarker, type LivenessProbe } from './run-marker.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'strand-marker-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const probe = (over: Partial<LivenessProbe> = {}): LivenessProbe => ({
  host: 'here',
  now: 1_000_000_000,
  pidAlive: () => false,
  leaderJob: () => 'gone',
  ...over,
});
const found = (m: Partial<FoundMarker['marker']>, beatAt = 1_000_000_000): FoundMarker => ({
  dir: '/w/runs/strand-x',
  beatAt,
  marker: { strand: 'run-files', version: 1, kind: 'task-dirs', runId: 'x', dir: 'strand-x', ino: 1, host: 'here', pid: 42, createdAt: '', ...m },
});

describe('run markers', () => {
  it('are read back only from the very directory they were written for', async () => {
    const dir = path.join(tmp, 'strand-a');
    mkdirSync(dir);
    expect(await markRunDir(dir, 'task-dirs', { runId: 'a', owner: 'alice' })).toBe(true);
    expect((await readRunMarker(dir))?.marker).toMatchObject({ runId: 'a', owner: 'alice', kind: 'task-dirs', dir: 'strand-a', ino: statSync(dir).ino });
    // A copy (another inode) and a renamed directory (another name) are not the run's.
    cpSync(dir, path.join(tmp, 'copy'), { recursive: true });
    expect(await readRunMarker(path.join(tmp, 'copy'))).toBeUndefined();
    mkdirSync(path.join(tmp, 'strand-b'));
    cpSync(path.join(dir, RUN_MARKER), path.join(tmp, 'strand-b', RUN_MARKER));
    expect(await readRunMarker(path.join(tmp, 'strand-b'))).toBeUndefined();
    renameSync(dir, path.join(tmp, 'moved'));
    expect(await readRunMarker(path.join(tmp, 'moved'))).toBeUndefined();
    // A link to a marked directory is not one.
    renameSync(path.join(tmp, 'moved'), dir);
    symlinkSync(dir, path.join(tmp, 'strand-link'));
    expect(await readRunMarker(path.join(tmp, 'strand-link'))).toBeUndefined();
    expect(await readRunMarker(dir)).toBeDefined();
  });

  it('a marker that is a link is neither followed when read nor written through', async () => {
    const dir = path.join(tmp, 'strand-c');
    mkdirSync(dir);
    const target = path.join(tmp, 'target.txt');
    writeFileSync(target, 'untouched');
    symlinkSync(target, path.join(dir, RUN_MARKER));
    expect(await markRunDir(dir, 'task-dirs', { runId: 'c' })).toBe(false);
    expect(await readRunMarker(dir)).toBeUndefined();
    expect(statSync(target).size).toBe('untouched'.length);
  });

  it('tell a run still going from one that is over', () => {
    expect(liveness(found({ pid: 42 }), probe({ pidAlive: (p) => p === 42 })).live).toBe(true);
    expect(liveness(found({ pid: 42 }), probe()).live).toBe(false);
    // Another host: its heartbeat.
    expect(liveness(found({ host: 'laptop' }, 1_000_000_000 - 60_000), probe()).live).toBe(true);
    expect(liveness(found({ host: 'laptop' }, 1_000_000_000 - STALE_MS - 1), probe()).live).toBe(false);
    // A submitted run: its leader Job, whatever the host and pid say.
    const leader = found({ leaderJob: 'strand-leader-x', host: 'pod' });
    expect(liveness(leader, probe({ leaderJob: () => 'running' })).live).toBe(true);
    expect(liveness(leader, probe({ leaderJob: () => 'finished' })).live).toBe(false);
    expect(liveness(leader, probe({ leaderJob: () => 'gone' })).live).toBe(false);
    expect(liveness(leader, probe({ leaderJob: () => undefined })).live).toBe(true);
  });

  it('the heartbeat is the marker file\'s mtime', async () => {
    const dir = path.join(tmp, 'strand-d');
    mkdirSync(dir);
    await markRunDir(dir, 'task-dirs', { runId: 'd' });
    utimesSync(path.join(dir, RUN_MARKER), 1000, 1000);
    expect((await readRunMarker(dir))?.beatAt).toBe(1_000_000);
  });
});
