import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../executor.js';
import { PathMap } from './path-map.js';
import { parseKubernetesSettings } from './settings.js';
import { coalesce, taskMounts } from './storage-mounts.js';

const settings = (extra: Record<string, unknown> = {}) =>
  parseKubernetesSettings({ workspace: { claimName: 'ws', mountPath: '/ws', localPath: '/mnt/ws' }, ...extra }, 'test', 'me');

function spec(over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    taskId: 't',
    runId: 'r',
    stepPath: 's',
    attempt: 1,
    argv: ['true'],
    env: {},
    workDir: '/mnt/ws/runs/a/t-1-x',
    tmpDir: '/mnt/ws/runs/a/t-1-x-tmp',
    mounts: [],
    resources: { cores: 1, ramMiB: 1, tmpdirMiB: 0, outdirMiB: 0 },
    networkAccess: false,
    logDir: '/store/logs',
    ...over,
  };
}

const paths = new PathMap([{ from: '/mnt/ws', to: '/ws' }]);
const same = new PathMap([]);
const sameSettings = () => parseKubernetesSettings({ workspace: { claimName: 'ws', mountPath: '/mnt/ws' } }, 'test', 'me');

describe('taskMounts', () => {
  it('gives the pod its own directories read-write and each input read-only, by subPath, never the whole workspace', () => {
    const { volumeMounts } = taskMounts(
      spec({
        mounts: [
          { hostPath: '/mnt/ws/runs/a/other-1-y/out.txt', taskPath: '', readOnly: true },
          { hostPath: '/mnt/ws/.strand-staged/r/h/in.fa', taskPath: '', readOnly: true },
          { hostPath: '/mnt/ws/runs/a/t-1-x/inside.txt', taskPath: '', readOnly: true },
        ],
        stdin: '/mnt/ws/runs/a/other-1-y/out.txt',
      }),
      sameSettings(),
      same,
      '/mnt/ws/runs/a/.strand-logs/job-1',
    );
    expect(volumeMounts).toEqual([
      { name: 'workspace', mountPath: '/mnt/ws/.strand-staged/r/h/in.fa', subPath: '.strand-staged/r/h/in.fa', readOnly: true },
      { name: 'workspace', mountPath: '/mnt/ws/runs/a/.strand-logs/job-1', subPath: 'runs/a/.strand-logs/job-1' },
      { name: 'workspace', mountPath: '/mnt/ws/runs/a/other-1-y/out.txt', subPath: 'runs/a/other-1-y/out.txt', readOnly: true },
      { name: 'workspace', mountPath: '/mnt/ws/runs/a/t-1-x', subPath: 'runs/a/t-1-x' },
      { name: 'workspace', mountPath: '/mnt/ws/runs/a/t-1-x-tmp', subPath: 'runs/a/t-1-x-tmp' },
    ]);
  });

  it("also shows an input that a link in the task's directory points to where Strand sees it, when pods see it elsewhere (a copy, another mountPath)", () => {
    const copied = new PathMap([
      { from: '/mnt/ws', to: '/ws' },
      { from: '/home/me/data/ref.fa', to: '/ws/.strand-staged/r/h/ref.fa' },
    ]);
    const { volumeMounts } = taskMounts(
      spec({ mounts: [{ hostPath: '/home/me/data/ref.fa', taskPath: '', readOnly: true }, { hostPath: '/mnt/ws/runs/a/o/x', taskPath: '', readOnly: true }] }),
      settings(),
      copied,
      undefined,
      new Map(),
      new Set(['/home/me/data/ref.fa', '/mnt/ws/runs/a/o/x']),
    );
    expect(volumeMounts).toEqual([
      { name: 'workspace', mountPath: '/ws/.strand-staged/r/h/ref.fa', subPath: '.strand-staged/r/h/ref.fa', readOnly: true },
      { name: 'workspace', mountPath: '/ws/runs/a/o/x', subPath: 'runs/a/o/x', readOnly: true },
      { name: 'workspace', mountPath: '/ws/runs/a/t-1-x', subPath: 'runs/a/t-1-x' },
      { name: 'workspace', mountPath: '/ws/runs/a/t-1-x-tmp', subPath: 'runs/a/t-1-x-tmp' },
      { name: 'workspace', mountPath: '/home/me/data/ref.fa', subPath: '.strand-staged/r/h/ref.fa', readOnly: true },
      { name: 'workspace', mountPath: '/mnt/ws/runs/a/o/x', subPath: 'runs/a/o/x', readOnly: true },
    ]);
  });

  it('mounts an input the tool may update in place read-write', () => {
    const { volumeMounts } = taskMounts(spec({ mounts: [{ hostPath: '/mnt/ws/runs/a/d', taskPath: '', readOnly: false }] }), settings(), paths);
    expect(volumeMounts).toContainEqual({ name: 'workspace', mountPath: '/ws/runs/a/d', subPath: 'runs/a/d' });
  });

  it('leaves inputs on data volumes to the read-only data volume mount, and puts the tmpdir on scratch when configured', () => {
    const s = settings({ dataVolumes: [{ claimName: 'ref', mountPath: '/ref' }], scratch: { medium: 'Memory' } });
    const { volumes, volumeMounts } = taskMounts(spec({ mounts: [{ hostPath: '/ref/g.fa', taskPath: '', readOnly: true }] }), s, paths);
    expect(volumeMounts).toEqual([
      { name: 'workspace', mountPath: '/ws/runs/a/t-1-x', subPath: 'runs/a/t-1-x' },
      { name: 'data-0', mountPath: '/ref', readOnly: true },
      { name: 'scratch', mountPath: '/ws/runs/a/t-1-x-tmp' },
    ]);
    expect(volumes.map((v) => v.name)).toEqual(['workspace', 'data-0', 'scratch']);
  });

  it('shows an input that is a link (InitialWorkDir) as its target, mounted where the link is', () => {
    const s = parseKubernetesSettings({ workspace: { claimName: 'ws', mountPath: '/mnt/ws' }, dataVolumes: [{ claimName: 'ref', mountPath: '/ref' }] }, 'test', 'me');
    const links = new Map([
      ['/mnt/ws/runs/a/index-1-q/ref.fa', '/mnt/ws/.strand-staged/r/h/ref.fa'],
      ['/mnt/ws/runs/a/index-1-q/g.fa', '/ref/hg38/g.fa'],
    ]);
    const { volumeMounts } = taskMounts(
      spec({
        mounts: [
          { hostPath: '/mnt/ws/runs/a/index-1-q/ref.fa', taskPath: '', readOnly: true },
          { hostPath: '/mnt/ws/runs/a/index-1-q/ref.fa.fai', taskPath: '', readOnly: true },
          { hostPath: '/mnt/ws/runs/a/index-1-q/g.fa', taskPath: '', readOnly: true },
        ],
      }),
      s,
      same,
      undefined,
      links,
    );
    expect(volumeMounts).toContainEqual({ name: 'workspace', mountPath: '/mnt/ws/runs/a/index-1-q/ref.fa', subPath: '.strand-staged/r/h/ref.fa', readOnly: true });
    expect(volumeMounts).toContainEqual({ name: 'workspace', mountPath: '/mnt/ws/runs/a/index-1-q/ref.fa.fai', subPath: 'runs/a/index-1-q/ref.fa.fai', readOnly: true });
    expect(volumeMounts).toContainEqual({ name: 'data-0', mountPath: '/mnt/ws/runs/a/index-1-q/g.fa', subPath: 'hg38/g.fa', readOnly: true });
  });
});

describe('coalesce', () => {
  it('merges duplicates (read-write wins) and drops paths inside a mount with at least their rights', () => {
    expect(
      coalesce([
        { podPath: '/a', readOnly: true },
        { podPath: '/a/b', readOnly: true },
        { podPath: '/a/c', readOnly: false },
        { podPath: '/d', readOnly: true },
        { podPath: '/d', readOnly: false },
        { podPath: '/d/e', readOnly: true },
      ]),
    ).toEqual([
      { podPath: '/a', readOnly: true },
      { podPath: '/a/c', readOnly: false },
      { podPath: '/d', readOnly: false },
    ]);
  });
});
