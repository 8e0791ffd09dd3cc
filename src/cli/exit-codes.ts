import { isStrandError } from '../errors.js';

/** cwltool's conventions: 0 success, 1 failure, 2 usage, 33 unsupported requirement; 130 after Ctrl-C. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unsupported: 33, cancelled: 130 } as const;

export function exitCodeFor(err: unknown): number {
  if (!isStrandError(err)) return EXIT.failed;
  switch (err.code) {
    case 'usage':
      return EXIT.usage;
    case 'unsupported_requirement':
      return EXIT.unsupported;
    case 'cancelled':
      return EXIT.cancelled;
    default:
      return EXIT.failed;
  }
}
