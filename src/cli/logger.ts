import type { Logger } from '../engine/context.js';

/** Log lines on stderr, cwltool-like: `INFO ...`, quiet hides info, --debug shows debug. */
export function stderrLogger(opts: { quiet: boolean; debug: boolean }, out: NodeJS.WritableStream = process.stderr): Logger {
  return {
    info: (m) => {
      if (!opts.quiet) out.write(`[strand] ${m}\n`);
    },
    warn: (m) => {
      out.write(`[strand] warning: ${m}\n`);
    },
    debug: (m) => {
      if (opts.debug) out.write(`[strand] debug: ${m}\n`);
    },
  };
}
