/**
 * LoaderLimitOptions.root: a load that may read only inside one directory (the lab server loads
 * documents someone else sent). Kept out of limits.ts, which the CLI loads at start-up.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../errors.js';

function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** `file` (as named, and after its links) is `root` or under it. */
function isInside(root: string, file: string): boolean {
  const under = (p: string) => {
    const rel = path.relative(root, p);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
  };
  return under(path.resolve(file)) && under(realOrResolved(file));
}

/** A check that throws a ValidationError for a file outside `root`, before it is read. */
export function rootCheck(root: string): (file: string) => void {
  const real = realOrResolved(root);
  return (file) => {
    if (!isInside(real, file)) throw new ValidationError(`${file} is outside ${real}: a document loaded here may read only the files it came with`);
  };
}
