/** `strand cache list` and `strand cache clear`: what the task cache holds, and emptying it (docs/caching.md). */
import type { Command } from 'commander';
import { clearCache, listCache } from '../cache/inventory.js';
import { runCacheDir } from '../cache/run-cache.js';
import { resolveConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import { formatDuration, formatTime } from '../store/format.js';
import { EXIT } from './exit-codes.js';
import { parseDuration } from './durations.js';

interface CacheFlags {
  store?: string;
  cachedir?: string;
  scope?: string;
}

/** The cache directory `strand run` would use here with the same flags (local executor): `<base>/<scope>`. */
export function cacheDirFor(flags: CacheFlags): string {
  const config = resolveConfig({ storeDir: flags.store, cacheDir: flags.cachedir, ...(flags.scope !== undefined ? { cacheScope: flags.scope } : {}) });
  if (!config.cacheDir && config.storeDir === false) throw new UsageError('no task cache: the run store is off (STRAND_STORE=off) and no --cachedir is given');
  const shared = flags.scope === undefined ? config.cacheShared : flags.scope === 'shared';
  return runCacheDir({
    ...(config.cacheDir ? { baseDir: config.cacheDir } : {}),
    storeDir: config.storeDir,
    shared,
    ...(config.cacheScope !== undefined && !shared ? { scope: config.cacheScope } : {}),
  }) as string;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

const withCacheFlags = (c: Command) =>
  c
    .option('--store <dir>', 'run store directory, whose cache/ is the default cache (default: ./.strand, or $STRAND_STORE)')
    .option('--cachedir <dir>', 'the task cache directory, whose scopes hold entries (default: <store>/cache, or $STRAND_CACHE_DIR)')
    .option('--scope <name>', 'the scope: user-<uid> (yours, the default), ns-<namespace> (a cluster namespace\'s), shared, or $STRAND_CACHE_SCOPE');

export function addCacheCommands(program: Command, finish: (code: number) => void): void {
  const cache = program
    .command('cache')
    .summary('list or clear the task cache')
    .description(
      'The task cache keeps the results of finished tasks so that a run doing the same work again ' +
        '(or `strand run --resume`) reuses them. It never shrinks by itself: see what it holds with ' +
        '`strand cache list`, remove it with `strand cache clear`. Do not clear it while runs use it. ' +
        'A Kubernetes run keeps its cache on the workspace: pass --cachedir <localPath>/runs/task-cache --scope ns-<namespace>. See docs/caching.md.',
    );
  withCacheFlags(cache.command('list').summary('entries of the task cache, their size and the run that made them'))
    .option('--json', 'print JSON')
    .action(async (flags: CacheFlags & { json?: boolean }) => {
      const inv = await listCache(cacheDirFor(flags));
      if (flags.json) process.stdout.write(JSON.stringify(inv, null, 2) + '\n');
      else {
        const lines = [`task cache ${inv.dir}: ${inv.entries.length} entries, ${formatBytes(inv.totalBytes)}`];
        if (inv.entries.length) {
          lines.push('KEY           SIZE      LAST USED            TASK (RUN)');
          const byUse = [...inv.entries].sort((a, b) => (a.lastUsedAt < b.lastUsedAt ? 1 : -1));
          for (const e of byUse) {
            lines.push(`${e.key.slice(0, 12)}  ${formatBytes(e.size).padEnd(8)}  ${formatTime(e.lastUsedAt)}  ${e.origin.taskId} (${e.origin.runId})`);
          }
        }
        if (inv.leftovers.length) lines.push(`${inv.leftovers.length} leftovers of interrupted caching (removed by strand cache clear)`);
        if (inv.inProgress.length) lines.push(`${inv.inProgress.length} being cached by a running task now`);
        process.stdout.write(lines.join('\n') + '\n');
      }
      finish(EXIT.ok);
    });
  withCacheFlags(cache.command('clear').summary('remove task cache entries (all, or those unused for a while)'))
    .option('--unused-for <duration>', 'only entries no run has used for this long, e.g. 30d, 12h', parseDuration)
    .option('--run <id>', 'only entries made by this run')
    .action(async (flags: CacheFlags & { unusedFor?: number; run?: string }) => {
      const dir = cacheDirFor(flags);
      const r = await clearCache(dir, {
        ...(flags.unusedFor !== undefined ? { unusedForMs: flags.unusedFor * 1000 } : {}),
        ...(flags.run !== undefined ? { runId: flags.run } : {}),
      });
      const what = flags.unusedFor !== undefined ? ` unused for ${formatDuration(flags.unusedFor * 1000)}` : '';
      process.stdout.write(
        `removed ${r.removed} entries${what} (${formatBytes(r.bytes)}) from ${dir}${r.leftovers ? ` and ${r.leftovers} leftovers` : ''}` +
          `${r.kept ? `; left ${r.kept} that a running task is caching now` : ''}\n`,
      );
      finish(EXIT.ok);
    });
}
