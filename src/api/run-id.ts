import { randomBytes } from 'node:crypto';

/** What a run id may be (as --run-id takes it, and as newRunId makes it): a safe name of at most 63 characters. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * A run id that sorts by start time, with 64 random bits so that runs started in the same second
 * (by many members of one server) never meet: `20261122-230512-3fa9c04e7d21b586`. Commands take
 * any unique prefix or suffix of it (`strand show b586`).
 */
export function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp =
    `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-` +
    `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-${randomBytes(8).toString('hex')}`;
}
