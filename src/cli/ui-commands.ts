/**
 * `strand ui` (the dashboard) and `strand report` (HTML report, trace file). The server and the
 * report builders are imported when the command runs, so other commands start no slower.
 */
import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { resolveConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import { openRunStore } from '../store/run-store.js';
import { EXIT } from './exit-codes.js';

/** Default port of `strand ui`. */
export const DEFAULT_UI_PORT = 7878;

function portArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535 (0: any free port)');
  return n;
}

function storeDirOf(dir: string | undefined): string {
  const config = resolveConfig({ storeDir: dir });
  if (config.storeDir === false) throw new UsageError('the run store is turned off (STRAND_STORE=off)');
  return config.storeDir;
}

export function addUiCommands(program: Command, finish: (code: number) => void): void {
  program
    .command('ui')
    .summary('serve a web dashboard over the run store')
    .description(
      "Serve a read-only web dashboard over the run store: the runs (filter, search), a run's workflow " +
        "graph and timeline updated live while it runs, each task's command line, exit reason, resources " +
        'and logs. No cluster needed. It has no authentication: it binds 127.0.0.1 unless --host says ' +
        'otherwise. See docs/dashboard.md.',
    )
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('--port <n>', 'port (0: any free port)', portArg, DEFAULT_UI_PORT)
    .option('--host <address>', 'address to bind (anything but loopback is reachable by others: only the token protects it, without TLS)', '127.0.0.1')
    .addHelpText('after', ['', 'Examples:', '  strand ui                      # http://127.0.0.1:7878/?token=…', '  strand ui --store /data/.strand --port 9000', '  ssh -L 7878:127.0.0.1:7878 server   # then open the printed address here'].join('\n'))
    .action(async (flags: { store?: string; port: number; host: string }) => {
      const { isLoopback, startDashboard } = await import('../ui/server.js');
      const dashboard = await startDashboard({ storeDir: storeDirOf(flags.store), host: flags.host, port: flags.port });
      if (!isLoopback(flags.host)) {
        process.stderr.write(
          `strand: warning: the dashboard listens on ${flags.host}, without TLS: anyone who can reach port ` +
            `${dashboard.port} there and see its traffic can take the token, then read every run's commands, paths and logs\n`,
        );
      }
      process.stderr.write(`[strand] dashboard at ${dashboard.url} (read-only; Ctrl-C to stop)\n`);
      process.stdout.write(`${dashboard.url}\n`);
      const stop = () => void dashboard.close().then(() => finish(EXIT.ok));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  program
    .command('report')
    .summary('write a run\'s HTML report, or its trace file')
    .description(
      'Write one self-contained HTML file about a run (summary, per-step wall time, requested against ' +
        'used CPU and memory where measured, timeline, failures), and/or a trace file: tab-separated, ' +
        "one row per task attempt, with Nextflow's trace columns. See docs/reports.md.",
    )
    .argument('<run>', 'run id, or a unique prefix or suffix of one')
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('-o, --output <file>', 'the HTML report (default: strand-report-<run>.html; - for stdout)')
    .option('--trace <file>', 'write the trace file (TSV; - for stdout); with --trace alone no HTML is written unless -o is given')
    .addHelpText('after', ['', 'Examples:', '  strand report 20261201-130330-e23a          # strand-report-20261201-130330-e23a.html', '  strand report e23a -o run.html --trace trace.tsv'].join('\n'))
    .action(async (runRef: string, flags: { store?: string; output?: string; trace?: string }) => {
      const [{ htmlReport }, { traceTsv }] = await Promise.all([import('../report/html-report.js'), import('../report/trace.js')]);
      const store = openRunStore(storeDirOf(flags.store), { readOnly: true });
      const run = store.getRun(runRef);
      store.close();
      if (!run) throw new UsageError(`no run "${runRef}" in the run store (see strand list)`);
      const write = (file: string, text: string) => {
        if (file === '-') process.stdout.write(text);
        else {
          writeFileSync(file, text);
          process.stderr.write(`[strand] wrote ${file}\n`);
        }
      };
      if (flags.trace) write(flags.trace, traceTsv(run));
      if (flags.output || !flags.trace) write(flags.output ?? `strand-report-${run.id}.html`, htmlReport(run));
      finish(EXIT.ok);
    });
}
