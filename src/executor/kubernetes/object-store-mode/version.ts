/** Strand's own version (package.json), for the default image tag of Strand's containers in task pods. */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function strandVersion(): string {
  if (cached !== undefined) return cached;
  // From src/ (tests) the package is 4 levels up, from dist/src/ 5.
  for (const rel of ['../../../../package.json', '../../../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'strand' && pkg.version) return (cached = pkg.version);
    } catch {
      // try the next
    }
  }
  return (cached = 'dev');
}
