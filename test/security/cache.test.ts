/**
 * The task cache with someone else's workflow (issue 16, class 9 and the cache's part of 6 and 7):
 *
 * - a task that rewrites a cached output and its checksum in the manifest (as one on a cluster's
 *   shared workspace can) does not get its result reused: the next run runs the task and gives the
 *   real output;
 * - two users (two scopes) do not share a cache unless they opt in (cache.shared);
 * - the cache is its owner's only: directories 0700, manifests and the key 0600;
 * - EnvVarRequirement's values are in no file of the cache;
 * - a failed run and a killed run leave no half-made entry behind.
 *
 * What reached --outdir and what the cache holds are checked, not only exit codes.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { built, runStrand } from '../support/strand-cli.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-sec-cache-'));
  writeFileSync(path.join(dir, 'in.txt'), 'hello\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const store = () => path.join(dir, 'store');
const cacheRoot = () => path.join(store(), 'cache');
const env = (extra: Record<string, string> = {}) => {
  const e: NodeJS.ProcessEnv = { ...process.env, STRAND_STORE: store(), TMPDIR: os.tmpdir(), ...extra };
  for (const k of ['STRAND_CACHE', 'STRAND_CACHE_DIR', 'STRAND_CACHE_SCOPE', 'STRAND_CACHE_SHARED', 'STRAND_CACHE_KEY_FILE']) if (!(k in extra)) delete e[k];
  return e;
};
const strand = (args: string[], extra: Record<string, string> = {}) => runStrand(args, { cwd: dir, env: env(extra) });
const ranLog = () => (existsSync(path.join(dir, 'ran.log')) ? readFileSync(path.join(dir, 'ran.log'), 'utf8').trim().split('\n') : []);

/** Every path under `root` (files, directories, links), depth first. */
function walk(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = path.join(root, name);
    out.push(p);
    if (lstatSync(p).isDirectory()) out.push(...walk(p));
  }
  return out;
}
/** The manifests of cache entries, wherever the cache keeps them under `root`. */
const manifests = (root = cacheRoot()) => walk(root).filter((p) => /^[0-9a-f]{40}\.json$/.test(path.basename(p)));

/** One tool: appends to ran.log when it really runs, writes `REAL <input>` to out.txt. */
function writeTool(extra = ''): void {
  writeFileSync(
    path.join(dir, 'tool.cwl'),
    `cwlVersion: v1.2
class: CommandLineTool
${extra}inputs: {f: {type: File, inputBinding: {position: 1}}}
baseCommand: [sh, -c, 'echo ran >> ${path.join(dir, 'ran.log')}; printf "REAL %s" "$(cat "$0")" > out.txt']
outputs: {out: {type: File, outputBinding: {glob: out.txt}}}
`,
  );
  writeFileSync(path.join(dir, 'job.yml'), 'f: {class: File, path: in.txt}\n');
}

describe.skipIf(!built)('the task cache cannot be forged or read by others', () => {
  it('an entry whose output and checksum were rewritten (as a task could) is not reused: the task runs and the real output reaches --outdir', async () => {
    writeTool();
    const first = await strand(['run', '--outdir', 'out1', 'tool.cwl', 'job.yml']);
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'out1', 'out.txt'), 'utf8')).toBe('REAL hello');
    const [manifest] = manifests();
    expect(manifest).toBeDefined();
    // The forger's move: other bytes in the output, and the manifest saying they are right.
    const entry = (manifest as string).slice(0, -'.json'.length);
    const forged = 'FORGED BY ALICE\n';
    writeFileSync(path.join(entry, 'out.txt'), forged);
    const m = JSON.parse(readFileSync(manifest as string, 'utf8')) as { files: Array<{ path: string; size: number; checksum: string }>; size: number };
    const f = m.files.find((x) => x.path === 'out.txt');
    expect(f).toBeDefined();
    f!.size = forged.length;
    f!.checksum = `sha1$${createHash('sha1').update(forged).digest('hex')}`;
    m.size = forged.length;
    writeFileSync(manifest as string, JSON.stringify(m));

    const second = await strand(['run', '--outdir', 'out2', 'tool.cwl', 'job.yml']);
    expect(second.code, second.stderr).toBe(0);
    expect(ranLog()).toEqual(['ran', 'ran']);
    expect(readFileSync(path.join(dir, 'out2', 'out.txt'), 'utf8')).toBe('REAL hello');
    expect(second.stderr).toContain('[strand] tasks: 1 run, 0 reused');
    // One warning, naming the entry.
    expect(second.stderr.split('\n').filter((l) => l.includes(entry))).toHaveLength(1);
    expect(second.stderr).toMatch(/not signed with this cache's key/);
    // The forged entry was replaced by the real result: a third run reuses it.
    const third = await strand(['run', '--outdir', 'out3', 'tool.cwl', 'job.yml']);
    expect(third.code, third.stderr).toBe(0);
    expect(ranLog()).toHaveLength(2);
    expect(readFileSync(path.join(dir, 'out3', 'out.txt'), 'utf8')).toBe('REAL hello');
  });

  it('entries made before entries were signed are not reused, and the run says so once', async () => {
    writeFileSync(
      path.join(dir, 'two.cwl'),
      `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {w: "string[]"}
outputs: {o: {type: "File[]", outputSource: s/out}}
steps:
  s:
    scatter: w
    in: {w: w}
    out: [out]
    run:
      class: CommandLineTool
      inputs: {w: {type: string, inputBinding: {position: 1}}}
      baseCommand: [sh, -c, 'echo ran >> ${path.join(dir, 'ran.log')}; printf "REAL %s" "$0" > out.txt']
      outputs: {out: {type: File, outputBinding: {glob: out.txt}}}
`,
    );
    writeFileSync(path.join(dir, 'two.json'), JSON.stringify({ w: ['x', 'y'] }));
    const first = await strand(['run', '--outdir', 'o1', 'two.cwl', 'two.json']);
    expect(first.code, first.stderr).toBe(0);
    // What an older Strand wrote: manifest version 1, no signature.
    for (const m of manifests()) {
      const { mac: _mac, ...old } = JSON.parse(readFileSync(m, 'utf8')) as Record<string, unknown>;
      writeFileSync(m, JSON.stringify({ ...old, version: 1 }));
    }
    expect(manifests()).toHaveLength(2);
    const second = await strand(['run', '--outdir', 'o2', 'two.cwl', 'two.json']);
    expect(second.code, second.stderr).toBe(0);
    expect(ranLog()).toHaveLength(4);
    expect(second.stderr.split('\n').filter((l) => l.includes('before Strand signed'))).toHaveLength(1);
  });

  it('two users (scopes) do not share a cache by default; with cache.shared they do, and the run says so', async () => {
    writeTool();
    const alice = await strand(['run', '--outdir', 'a', 'tool.cwl', 'job.yml'], { STRAND_CACHE_SCOPE: 'alice' });
    expect(alice.code, alice.stderr).toBe(0);
    const bob = await strand(['run', '--outdir', 'b', 'tool.cwl', 'job.yml'], { STRAND_CACHE_SCOPE: 'bob' });
    expect(bob.code, bob.stderr).toBe(0);
    expect(ranLog()).toHaveLength(2);
    expect(bob.stderr).toContain('1 run, 0 reused');

    const shared1 = await strand(['run', '--outdir', 's1', 'tool.cwl', 'job.yml'], { STRAND_CACHE_SCOPE: 'alice', STRAND_CACHE_SHARED: '1' });
    expect(shared1.code, shared1.stderr).toBe(0);
    expect(ranLog()).toHaveLength(3);
    const shared2 = await strand(['run', '--outdir', 's2', 'tool.cwl', 'job.yml'], { STRAND_CACHE_SCOPE: 'bob', STRAND_CACHE_SHARED: '1' });
    expect(shared2.code, shared2.stderr).toBe(0);
    expect(ranLog()).toHaveLength(3);
    expect(shared2.stderr).toContain('0 run, 1 reused');
    expect(readFileSync(path.join(dir, 's2', 'out.txt'), 'utf8')).toBe('REAL hello');
    expect(shared2.stderr).toMatch(/is shared \(cache\.shared\): it reuses results signed with \S+cache\.key, which only its owner can read/);
  });

  it('the cache is its owner\'s only: its directories 0700, manifests and the key 0600', async () => {
    writeTool();
    const r = await strand(['run', '--outdir', 'out', 'tool.cwl', 'job.yml']);
    expect(r.code, r.stderr).toBe(0);
    const found = manifests();
    expect(found).toHaveLength(1);
    const manifest = found[0] as string;
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(manifest)).toBe(0o600);
    expect(mode(manifest.slice(0, -'.json'.length))).toBe(0o700);
    // Every directory from the cache down to the entries is closed to others.
    for (let d = path.dirname(manifest); d.startsWith(cacheRoot()); d = path.dirname(d)) expect(mode(d), d).toBe(0o700);
    const keys = walk(store()).filter((p) => path.basename(p) === 'cache.key');
    expect(keys).toHaveLength(1);
    expect(mode(keys[0] as string)).toBe(0o600);
  });

  it("EnvVarRequirement's values are in no file of the cache", async () => {
    const secret = 'tok-7f3a9c1e5b-secret-value';
    writeTool(`requirements: {EnvVarRequirement: {envDef: {API_TOKEN: "${secret}"}}}\n`);
    const r = await strand(['run', '--outdir', 'out', 'tool.cwl', 'job.yml']);
    expect(r.code, r.stderr).toBe(0);
    const files = walk(cacheRoot()).filter((p) => lstatSync(p).isFile());
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(readFileSync(f).includes(secret), f).toBe(false);
    // The key still tells runs apart: another value is another key, so the task runs again.
    writeTool(`requirements: {EnvVarRequirement: {envDef: {API_TOKEN: "${secret}-2"}}}\n`);
    const again = await strand(['run', '--outdir', 'out2', 'tool.cwl', 'job.yml']);
    expect(again.code, again.stderr).toBe(0);
    expect(ranLog()).toHaveLength(2);
  });
});

/** Leftovers of interrupted caching, anywhere in the cache. */
const leftovers = () => walk(cacheRoot()).filter((p) => /^\.(pending|broken|lock)-|\.tmp$/.test(path.basename(p)));

/**
 * A scatter of two: `keep` writes its output and a 512 MiB sparse file beside it (not an output, so
 * putting the directory in the cache reads it: a publish that lasts); `fail` waits until that
 * publish has begun (a `.pending-` directory in the cache), then fails the run.
 */
function writeRace(): void {
  const waitForPending = `n=0; until find ${cacheRoot()} -name ".pending-*" | grep -q .; do n=$((n+1)); [ $n -gt 600 ] && break; sleep 0.05; done`;
  writeFileSync(
    path.join(dir, 'race.cwl'),
    `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {what: "string[]"}
outputs: {out: {type: "File[]", outputSource: s/out}}
steps:
  s:
    scatter: w
    in: {w: what}
    out: [out]
    run:
      class: CommandLineTool
      inputs: {w: {type: string, inputBinding: {position: 1}}}
      baseCommand: [sh, -c, 'if [ "$0" = fail ]; then ${waitForPending}; exit 1; fi; echo kept > out.txt; truncate -s 512M big.bin']
      outputs: {out: {type: File, outputBinding: {glob: out.txt}}}
`,
  );
}

describe.skipIf(!built)('no half-made cache entry stays behind', () => {
  it('a failed run: the task it was caching when another failed is finished, nothing half-made is left', async () => {
    writeRace();
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ what: ['keep', 'fail'] }));
    const r = await strand(['run', '--parallel', '2', '--outdir', 'out', 'race.cwl', 'job.json']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/failed/);
    expect(leftovers()).toEqual([]);
    expect(manifests()).toHaveLength(1);
  });

  it('a killed run: what it was caching is a leftover (not "being cached"), and strand cache clear removes it', async () => {
    writeRace();
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ what: ['keep'] }));
    const killed = await runStrand(['run', '--outdir', 'out', 'race.cwl', 'job.json'], {
      cwd: dir,
      env: env(),
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (walk(cacheRoot()).some((p) => path.basename(p).startsWith('.pending-'))) {
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        }, 20);
        child.on('exit', () => clearInterval(poll));
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(leftovers().some((p) => path.basename(p).startsWith('.pending-'))).toBe(true);
    // The cache this user's runs use here (store/cache, in its scope).
    const list = await strand(['cache', 'list']);
    expect(list.stdout).toMatch(/leftovers of interrupted caching/);
    expect(list.stdout).not.toMatch(/being cached by a running task/);
    const clear = await strand(['cache', 'clear']);
    expect(clear.code, clear.stderr).toBe(0);
    expect(leftovers()).toEqual([]);
  });
});
