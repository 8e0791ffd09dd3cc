/**
 * The commands that act on a lab server instead of this machine (`--server`): submit, list, show,
 * cancel, logs. Each opens the server picked (credentials.ts), talks WES (wes-client.ts) and prints
 * as the local command does where WES has the same (wes-format.ts). Output goes through `io`, so the
 * tests read what a user would see.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../errors.js';
import type { CwlObject } from '../../model/types.js';
import { credentialsPath, isLoopbackUrl, pickServer, readCredentials, type ServerLogin } from './credentials.js';
import { limitsFromTags, planRunRequest, runRequestForm } from './run-request-builder.js';
import { WesClient } from './wes-client.js';
import { FINAL_STATES, formatWesRunDetail, formatWesRunList, formatWesStateChange, printable } from './wes-format.js';

export interface RemoteIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Where the credentials are (default: credentialsPath()). */
  credentialsFile?: string;
  fetch?: typeof fetch;
  /** Show times in UTC (tests). */
  utc?: boolean;
  /** Between two looks at a followed run (default 2 s). */
  pollMs?: number;
}

export interface ServerSession {
  login: ServerLogin;
  client: WesClient;
}

/** The server `ref` names (or the default), with a client holding its token. */
export function openServer(ref: string | undefined, io: Pick<RemoteIo, 'credentialsFile' | 'fetch'> = {}): ServerSession {
  const file = io.credentialsFile ?? credentialsPath();
  const login = pickServer(readCredentials(file), ref, file);
  if (login.url.startsWith('http:') && !isLoopbackUrl(login.url) && !login.allowHttp) {
    throw new UsageError(`${login.url} is plain http to another machine: the token would cross the network in clear (log in again with an https URL, or with --allow-http if you must)`);
  }
  return { login, client: new WesClient({ url: login.url, token: login.token, ...(io.fetch ? { fetch: io.fetch } : {}) }) };
}

/** How the user names this server on the command line (`--server lab`). */
function serverArg(login: ServerLogin): string {
  return `--server ${login.name}`;
}

export interface RemoteSubmit {
  /** The document as given (`wf.cwl` or `packed.cwl#main`). */
  document: string;
  jobFile?: string;
  cache?: string;
  retries?: number;
  onError?: string;
  quiet?: boolean;
  /**
   * Wait for the run to end, as a cwl-runner does: the run id goes to stderr, the output object
   * (COMPLETE) to stdout; the submission resolves with the run's exit code (0 COMPLETE, else 1).
   */
  wait?: boolean;
  signal?: AbortSignal;
}

/** `strand submit --server`: a WES RunWorkflow with the document, its files and the job's local files attached. */
export async function remoteSubmit(ref: string | undefined, s: RemoteSubmit, io: RemoteIo): Promise<{ runId: string; exitCode?: number }> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(s.document) && !s.document.toLowerCase().startsWith('file:')) {
    throw new UsageError(`strand submit --server sends a local document with the run (the server fetches no URL): download ${s.document} first`);
  }
  const { loadDocument, readJobFile } = await import('../../loader/index.js');
  const { unknownJobKeyWarnings } = await import('../unknown-job-keys.js');
  const { missingInputsError, missingRequiredInputs } = await import('../input-flags.js');
  const session = openServer(ref, io);

  // The document is validated here, so that a broken one is said before anything is sent.
  const used = new Set<string>();
  const process_ = await loadDocument(s.document, { files: used, onWarning: (m) => io.err(`[strand] warning: ${m}\n`) });
  const hash = s.document.lastIndexOf('#');
  const named = hash > 0 ? s.document.slice(0, hash) : s.document;
  const mainFile = named.startsWith('file:') ? fileURLToPath(named) : path.resolve(named);
  const jobRead = s.jobFile ? await readJobFile(s.jobFile) : undefined;
  for (const w of jobRead ? unknownJobKeyWarnings(process_, jobRead) : []) io.err(`[strand] warning: ${w}\n`);
  const inputs: CwlObject = jobRead?.inputs ?? {};
  const missing = missingRequiredInputs(process_, inputs);
  if (missing.length) throw missingInputsError(missing, s.document);

  const info = await session.client.serviceInfo();
  const plan = planRunRequest({
    mainFile,
    ...(hash > 0 ? { fragment: s.document.slice(hash + 1) } : {}),
    documentFiles: [...used],
    inputs,
    engine: { ...(s.cache !== undefined ? { cache: s.cache } : {}), ...(s.retries !== undefined ? { retries: s.retries } : {}), ...(s.onError !== undefined ? { onError: s.onError } : {}) },
    limits: limitsFromTags(info.tags),
    ...(info.supported_filesystem_protocols.length ? { protocols: info.supported_filesystem_protocols } : {}),
  });
  const { run_id: runId } = await session.client.runWorkflow(await runRequestForm(plan));
  if (s.wait) return { runId, exitCode: await waitForEnd(session, runId, s, io) };
  io.out(`${printable(runId)}\n`);
  if (!s.quiet) {
    const bytes = plan.attachments.reduce((n, a) => n + a.size, 0);
    const arg = serverArg(session.login);
    io.err(
      [
        `[strand] submitted run ${printable(runId)} to ${session.login.url} (${session.login.name})`,
        `[strand]   sent ${plan.attachments.length} file(s), ${bytes} bytes, named from ${plan.root}`,
        `[strand]   follow:  strand show ${arg} ${printable(runId)}   |   strand logs ${arg} ${printable(runId)} -f`,
        `[strand]   cancel:  strand cancel ${arg} ${printable(runId)}`,
      ].join('\n') + '\n',
    );
  }
  return { runId };
}

/**
 * `strand submit --server --wait`: follow the run until it ends; COMPLETE prints its output
 * object on stdout (cwl-runner's contract), any other end says why on stderr. 0 or 1.
 */
async function waitForEnd(session: ServerSession, runId: string, s: RemoteSubmit, io: RemoteIo): Promise<number> {
  const id = printable(runId);
  if (!s.quiet) io.err(`[strand] submitted run ${id} to ${session.login.url}; waiting for it to end (Ctrl-C stops waiting, not the run)\n`);
  let last = '';
  for (;;) {
    const { state } = await session.client.runStatus(runId);
    if (state !== last && !s.quiet) io.err(`[strand] run ${id}: ${printable(state)}\n`);
    last = state;
    if (FINAL_STATES.has(state)) break;
    if (!(await sleep(io.pollMs ?? 2000, s.signal))) {
      io.err(`[strand] stopped waiting; run ${id} goes on (strand show --server ${session.login.name} ${id})\n`);
      return 130;
    }
  }
  const log = await session.client.runLog(runId);
  if (log.state === 'COMPLETE') {
    io.out(`${JSON.stringify(log.outputs ?? {}, null, 2)}\n`);
    return 0;
  }
  const why = [log.run_log?.stderr ? '' : undefined, ...(log.run_log?.system_logs ?? [])].filter((l): l is string => typeof l === 'string' && l !== '');
  io.err(`[strand] run ${id} ended ${printable(log.state)}${why.length ? `:\n${why.map((l) => `  ${printable(l)}`).join('\n')}` : ''}\n`);
  return 1;
}

/** `strand list --server`: the caller's runs on the server, newest first. */
export async function remoteList(ref: string | undefined, opts: { limit: number; json?: boolean }, io: RemoteIo): Promise<void> {
  const { client } = openServer(ref, io);
  const runs = [];
  let token = '';
  // Pages until `limit` runs (a server may give fewer than asked per page).
  for (let pages = 0; runs.length < opts.limit && pages < 100; pages++) {
    const page = await client.listRuns({ pageSize: Math.min(opts.limit - runs.length, 1000), ...(token ? { pageToken: token } : {}) });
    runs.push(...page.runs);
    token = page.next_page_token;
    if (token === '') break;
  }
  const shown = runs.slice(0, opts.limit);
  io.out(opts.json ? JSON.stringify(shown, null, 2) + '\n' : formatWesRunList(shown, io.utc ? { utc: true } : {}) + '\n');
}

/** `strand show --server RUN`: its RunLog, with its tasks counted from ListTasks. */
export async function remoteShow(ref: string | undefined, runId: string, opts: { json?: boolean; watch?: boolean; signal?: AbortSignal }, io: RemoteIo): Promise<void> {
  const { client, login } = openServer(ref, io);
  if (opts.watch) {
    let last = '';
    for (;;) {
      const { state } = await client.runStatus(runId);
      if (state !== last) io.out(formatWesStateChange(runId, state, new Date(), io.utc ? { utc: true } : {}) + '\n');
      last = state;
      if (FINAL_STATES.has(state) || opts.signal?.aborted) break;
      if (!(await sleep(io.pollMs ?? 2000, opts.signal))) return;
    }
  }
  const log = await client.runLog(runId);
  const { tasks, complete } = await client.allTasks(runId);
  if (opts.json) {
    io.out(JSON.stringify({ ...log, task_logs: tasks }, null, 2) + '\n');
    return;
  }
  io.out(formatWesRunDetail(log, tasks, { tasksComplete: complete, logsCommand: `strand logs ${serverArg(login)} ${printable(runId)}`, ...(io.utc ? { utc: true } : {}) }) + '\n');
}

/** `strand cancel --server RUN`. */
export async function remoteCancel(ref: string | undefined, runId: string, io: RemoteIo): Promise<void> {
  const { client, login } = openServer(ref, io);
  const { run_id } = await client.cancelRun(runId);
  io.err(`asked ${login.url} to cancel run ${printable(run_id)} (an ended run stays as it ended); see it end: strand show ${serverArg(login)} ${printable(run_id)} --watch\n`);
}

export interface RemoteLogs {
  follow?: boolean;
  signal?: AbortSignal;
  /** Where the log's bytes go (stdout). */
  write: (chunk: Uint8Array) => void | Promise<void>;
}

/**
 * `strand logs --server RUN`: the run's log from the URL its RunLog gives. With `follow`, the log
 * is read again every few seconds until the run has ended, and what was added is written.
 */
export async function remoteLogs(ref: string | undefined, runId: string, opts: RemoteLogs, io: RemoteIo): Promise<void> {
  const { client } = openServer(ref, io);
  const log = await client.runLog(runId);
  const url = log.run_log?.stdout;
  if (!opts.follow) {
    const stream = await client.logStream(runId, 'stdout', url, opts.signal);
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) await opts.write(chunk);
    return;
  }
  let printed: Buffer = Buffer.alloc(0);
  let state = log.state;
  for (;;) {
    const ended = FINAL_STATES.has(state);
    const now = await readAll(await client.logStream(runId, 'stdout', url, opts.signal));
    if (now.length >= printed.length && now.subarray(0, printed.length).equals(printed)) {
      if (now.length > printed.length) await opts.write(now.subarray(printed.length));
    } else {
      io.err('[strand] the log began again (a new leader pod): here it is from its start\n');
      await opts.write(now);
    }
    printed = now;
    if (ended) return;
    if (!(await sleep(io.pollMs ?? 2000, opts.signal))) return;
    state = (await client.runStatus(runId)).state;
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Wait `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
