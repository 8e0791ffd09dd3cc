/**
 * Translation of paths as Strand sees them into paths as pods see them.
 *
 * Strand sees the shared workspace at `workspace.localPath` (e.g. an NFS mount), pods at
 * `workspace.mountPath`; files staged into the workspace may also be known under other paths.
 * A PathMap replaces path prefixes, longest first, and only at path boundaries: `/a/b` maps
 * `/a/b` and `/a/b/c` but never `/a/bc`.
 */

/** Characters that continue a path component (after them, a path has not ended). */
const PATH_CHAR = 'A-Za-z0-9._\\-';

function normalize(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  return trimmed === '' && p.startsWith('/') ? '/' : trimmed;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `to` followed by the rest of a path (`rest` is '' or starts with '/'). */
function join(to: string, rest: string): string {
  if (to === '/') return rest === '' ? '/' : rest;
  return to + rest;
}

export class PathMap {
  private readonly pairs: ReadonlyArray<{ from: string; to: string }>;
  private readonly textPattern: RegExp | undefined;
  private readonly textTargets: ReadonlyMap<string, string>;

  constructor(pairs: Array<{ from: string; to: string }>) {
    const byFrom = new Map<string, string>();
    for (const { from, to } of pairs) {
      const f = normalize(from);
      // The first pair given for a prefix wins; later duplicates are ignored.
      if (f !== '' && !byFrom.has(f)) byFrom.set(f, normalize(to));
    }
    this.pairs = [...byFrom].map(([from, to]) => ({ from, to })).sort((a, b) => b.from.length - a.from.length);
    // In free text, a root prefix ('/') would match every slash (URLs, ratios, ...): only map()
    // applies it.
    // Identity pairs stay: they shield their subtree from a shorter prefix mapped elsewhere.
    const textPairs = this.identity ? [] : this.pairs.filter((p) => p.from !== '/');
    this.textTargets = new Map(textPairs.map((p) => [p.from, p.to]));
    this.textPattern =
      textPairs.length === 0
        ? undefined
        : new RegExp(`(?<![${PATH_CHAR}/])(?:${textPairs.map((p) => escapeRegExp(p.from)).join('|')})(?![${PATH_CHAR}])`, 'g');
  }

  /** True when no pair changes any path. */
  get identity(): boolean {
    return this.pairs.every((p) => p.from === p.to);
  }

  /** The pod's path for `p` (unchanged when no prefix covers it). */
  map(p: string): string {
    for (const { from, to } of this.pairs) {
      if (from === '/') {
        if (p.startsWith('/')) return join(to, p === '/' ? '' : p);
        continue;
      }
      if (p === from || p.startsWith(`${from}/`)) return join(to, p.slice(from.length));
    }
    return p;
  }

  /**
   * `s` with every mapped path inside it replaced, e.g. in `--in=/a/b/x.txt` or
   * `PATHS=/a/b:/a/b/y`. A path starts after a character that cannot be part of a path and ends
   * at the end of the string or at a character that is not `[A-Za-z0-9._-]` (a `/` continues it).
   */
  mapText(s: string): string {
    if (!this.textPattern) return s;
    return s.replace(this.textPattern, (m: string, offset: number) => {
      const to = this.textTargets.get(m) ?? m;
      // `/a/b/x` with `/a/b` -> `/` is `/x`, not `//x`.
      return to === '/' && s[offset + m.length] === '/' ? '' : to;
    });
  }
}
