/**
 * The Strand container image on a real cluster (issue 10): scripts/strand-image.sh builds it from the
 * k8s rig's Debian image, this machine's Node 20 and the packed package, imports it into the rig's
 * containerd, and a pod runs it: `strand --version` prints the package version, as the non-root user,
 * better-sqlite3's native module loads, /bin/sh exists. A rebuild with nothing changed is a cache hit
 * (the same content tag, the archive not rewritten). Only against a real cluster, as root (the
 * containerd import); skipped with one line otherwise.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveE2e } from './e2e-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const env = await resolveE2e();
const skip =
  env.kind === 'skip' ? env.reason
  : env.kind === 'fake' ? 'the image test needs a real cluster (STRAND_E2E_FAKE=1 is set)'
  : process.getuid?.() !== 0 ? 'importing the image into the rig\'s containerd needs root'
  : undefined;
if (skip) console.warn(`strand image e2e skipped: ${skip}`);
const cluster = env.kind === 'cluster' && !skip ? env : undefined;
const describeReal = cluster ? describe : describe.skip;

/** The content tag the script prints (its progress goes to stderr, shown on failure). */
function buildImage(): string {
  return execFileSync('bash', [path.join(ROOT, 'scripts', 'strand-image.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

describeReal('the Strand image on the rig', () => {
  const pod = `strand-image-check-${Date.now().toString(36)}`;
  const core = () => cluster!.kc.makeApiClient(CoreV1Api);
  afterAll(async () => {
    await core().deleteNamespacedPod({ name: pod, namespace: cluster!.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  });

  it('builds, imports, and runs strand --version in a pod', async () => {
    const ref = buildImage();
    expect(ref).toMatch(new RegExp(`^localhost/strand:${VERSION.replace(/\./g, '\\.')}-[0-9a-f]{12}$`));
    // where the script keeps it: $STRAND_IMAGE_CACHE, else the XDG cache, outside the checkout
    const cacheDir = process.env.STRAND_IMAGE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'strand-image');
    const archive = path.join(cacheDir, `strand-${ref.split('-').pop()}.tar`);
    const before = statSync(archive).mtimeMs;
    // nothing changed: the same image, the archive untouched
    expect(buildImage()).toBe(ref);
    expect(statSync(archive).mtimeMs).toBe(before);

    const script = [
      'strand --version',
      'id -u',
      'test "$(readlink -f /usr/local/bin/strand)" = /usr/local/lib/strand/bin/strand.js && echo cli-linked',
      "cd /usr/local/lib/strand && node -e \"const D=require('better-sqlite3'); console.log('sqlite', new D(':memory:').prepare('select sqlite_version() v').get().v)\"",
    ].join(' && ');
    await core().createNamespacedPod({
      namespace: cluster!.namespace,
      body: {
        metadata: { name: pod, labels: { 'app.kubernetes.io/name': 'strand-image-check' } },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'strand', image: ref, imagePullPolicy: 'Never', command: ['/bin/sh', '-c', script], resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
        },
      },
    });
    const end = Date.now() + 120_000;
    let phase = '';
    while (Date.now() < end) {
      const p = await core().readNamespacedPod({ name: pod, namespace: cluster!.namespace });
      phase = p.status?.phase ?? '';
      if (phase === 'Succeeded' || phase === 'Failed') break;
      const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting && /ErrImage|ImagePull|CreateContainerError/.test(waiting.reason ?? '')) throw new Error(`${waiting.reason}: ${waiting.message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const log = await core().readNamespacedPodLog({ name: pod, namespace: cluster!.namespace });
    expect({ phase, lines: log.trim().split('\n') }).toEqual({
      phase: 'Succeeded',
      lines: [VERSION, '10001', 'cli-linked', expect.stringMatching(/^sqlite 3\.\d+\.\d+$/)],
    });
  });
});
