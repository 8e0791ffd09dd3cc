/**
 * Links to the user's originals, for tasks that run on the host.
 *
 * A staged input is a link whose own name is the basename the CWL value gives and whose target is
 * the original, reached in one hop: `realTarget` resolves the user's path (a link the user made
 * included) to the file it names. A link never points into Strand's scratch directories, which
 * are deleted after the run: a tool that archives its inputs (`tar cf out.tar a.bed`) or records
 * where a link leads (`readlink`) gets a path that still exists afterwards, as with cwltool.
 *
 * Directories are mirrored (`linkFarm`): real directories holding a link per file, so the tool can
 * neither add, delete nor rename entries in the user's directory.
 */
import { mkdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { fsPath, readEntries, realpathRaw } from './raw-names.js';

/** The real path of `p` (every link resolved); `p` itself when it cannot be resolved. */
export async function realTarget(p: string): Promise<string> {
  return realpathRaw(p).catch(() => p);
}

/**
 * Real directories mirroring `src` at `target` (which must not exist), a symbolic link for each
 * file pointing at the file in `src` (directories reached through links are mirrored too).
 */
export async function linkFarm(src: string, target: string, seen: Set<string> = new Set()): Promise<void> {
  await mkdir(fsPath(target));
  const st = await stat(fsPath(src));
  const key = `${st.dev}:${st.ino}`;
  if (seen.has(key)) return; // a link cycle: stop here
  seen.add(key);
  const entries = await readEntries(src);
  await Promise.all(
    entries.map(async ({ name, entry: e }) => {
      const from = path.join(src, name);
      const to = path.join(target, name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(fsPath(from)).catch(() => undefined))?.isDirectory() === true);
      if (isDir) await linkFarm(from, to, new Set(seen));
      else await symlink(fsPath(from), fsPath(to));
    }),
  );
}
