import type { Logger } from '../engine/context.js';
import { redactUrls } from '../storage/redact-url.js';

/** Log lines on stderr, cwltool-like: `INFO ...`, quiet hides info, --debug shows debug; credentials in URLs shown as ***. */
export function stderrLogger(opts: { quiet: boolean; debug: boolean }, out: NodeJS.WritableStream = process.stderr): Logger {
  return {
    info: (m) => {
      if (!opts.quiet) out.write(`[strand] ${redactUrls(m)}\n`);
    },
    warn: (m) => {
      out.write(`[strand] warning: ${redactUrls(m)}\n`);
    },
    debug: (m) => {
      if (opts.debug) out.write(`[strand] debug: ${redactUrls(m)}\n`);
    },
  };
}
