// The run page in headless Chromium on a finished run of skips-and-failures.cwl: steps skipped by
// `when` (plain, scattered, inside a scattered sub-workflow) drawn as skipped, tasks cancelled
// before they started drawn up to their cancellation (not to the right edge), the failed-tasks
// panel, and sub-workflow boxes painted under the edges that cross them.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../src/ui/server.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin', 'strand.js');
const FIXTURE = path.join(ROOT, 'test', 'ui', 'fixtures', 'skips-and-failures.cwl');
const SLOW = path.join(ROOT, 'test', 'ui', 'fixtures', 'slow-scatter.cwl');
const RUN = 'skips-fails';
const W = 'skips-and-failures';

describe.skipIf(!CHROMIUM)('the run page of a run with skipped steps and failed tasks', () => {
  let dir = '';
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  let store = '';

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'ui', 'index.html')) || !existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    }
    dir = await mkdtemp(path.join(os.tmpdir(), 'strand-ui-run-'));
    store = path.join(dir, 'store');
    const p = spawn(process.execPath, [CLI, 'run', '--quiet', '--parallel', '1', '--run-id', RUN, '--outdir', path.join(dir, 'out'), FIXTURE], {
      env: { ...process.env, STRAND_STORE: store },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let runStderr = '';
    p.stderr.on('data', (b: Buffer) => (runStderr += b.toString()));
    expect(await new Promise<number | null>((r) => p.on('close', r))).toBe(1);
    // The run fails because of the step `fails`, not earlier (an early failure records no attempts).
    expect(runStderr).toMatch(/fails/);
    dashboard = await startDashboard({ storeDir: store, port: 0, pollMs: 200 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // What the page saw, said if the timeline never shows (CI once timed out here: cause not found).
    const seen: string[] = [];
    page.on('console', (m) => seen.push(`console ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => seen.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => seen.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    page.on('response', (r) => seen.push(`${r.status()} ${new URL(r.url()).pathname}`));
    await page.goto(dashboard.url);
    await page.goto(`${dashboard.origin}/#/runs/${RUN}`);
    try {
      await page.getByRole('group', { name: 'Timeline of task attempts' }).waitFor();
    } catch (err) {
      const text = await page.locator('body').innerText().catch((e: Error) => `(no text: ${e.message})`);
      throw new Error(`${(err as Error).message}\npage at ${page.url()} says:\n${text}\nrequests and messages:\n${seen.join('\n')}\nthe run's stderr:\n${runStderr}`);
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('draws every step skipped by when as skipped: plain, scattered, and inside a scattered sub-workflow', async () => {
    for (const step of ['maybe', 'many', 'outer/inner']) {
      expect(await page.locator(`[data-node="${W}/${step}"]`).getAttribute('data-state'), step).toBe('skipped');
    }
    expect(await page.locator(`[data-node="${W}/outer/first"]`).getAttribute('data-state')).toBe('ok');
    expect(await page.getByRole('link', { name: /^inner: skipped/ }).count()).toBe(1);
  });

  it('draws a task cancelled before it started up to its cancellation, inside the time axis', async () => {
    const rows = page.locator('.timeline .row[data-state=cancelled]');
    expect(await rows.count()).toBeGreaterThanOrEqual(2);
    const axisEnd = Number(await page.locator('.timeline .axis').getAttribute('x2'));
    for (const r of await rows.all()) {
      const wait = r.locator('rect.wait');
      if ((await wait.count()) === 0) continue;
      const x = Number(await wait.getAttribute('x'));
      const w = Number(await wait.getAttribute('width'));
      expect(x + w).toBeLessThanOrEqual(axisEnd + 0.5);
    }
  });

  it('lists the failed tasks: step, scatter index, reason, exit code, last log lines and a link to the task', async () => {
    const panel = page.getByRole('region', { name: 'Failed tasks' });
    const items = panel.getByRole('listitem');
    expect(await items.count()).toBe(1);
    const text = (await items.first().textContent()) ?? '';
    // Which of the four runs first (and fails) is the scheduler's choice; the others never start.
    const index = /scatter index (\d)/.exec(text)?.[1];
    expect(index).toBeDefined();
    expect(text).toContain(`: step ${W}/fails, scatter index`);
    expect(text).toMatch(/exit code 3/);
    expect(text).toContain('the last line');
    await panel.getByRole('link', { name: `${W}/fails/${index}`, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: new RegExp(`Task ${W}/fails/${index}`) }).waitFor();
  });

  it('paints sub-workflow boxes under the edges, so an edge into a sub-workflow is not hidden', async () => {
    await page.goto(`${dashboard.origin}/#/runs/${RUN}`);
    await page.locator('.graph .cluster').first().waitFor();
    // Document order is paint order in SVG: every cluster box before every edge.
    const order = (await page.evaluate(
      `[...document.querySelectorAll('.graph .cluster, .graph .edge')].map((e) => e.getAttribute('class'))`,
    )) as string[];
    expect(order.indexOf('edge')).toBeGreaterThan(order.lastIndexOf('cluster'));
    expect(order.filter((c) => c === 'edge').length).toBeGreaterThan(0);
    // And every edge lies inside the drawing (one routed around a box is not cut off).
    const outside = (await page.evaluate(
      `(() => { const svg = document.querySelector('.graph'); const w = Number(svg.getAttribute('width')); const h = Number(svg.getAttribute('height'));
        return [...svg.querySelectorAll('.edge')].flatMap((e) => e.getAttribute('points').split(' ').map((p) => p.split(',').map(Number)))
          .filter(([x, y]) => x < 0 || y < 0 || x > w || y > h).length; })()`,
    )) as number;
    expect(outside).toBe(0);
  });

  it('shows a run killed with kill -9 as interrupted on the page already open: status, graph, timeline, a duration that stops', async () => {
    writeFileSync(path.join(dir, 'long-nap.json'), JSON.stringify({ seconds: [60] }));
    const p = spawn(process.execPath, [CLI, 'run', '--quiet', '--run-id', 'killed', '--outdir', path.join(dir, 'out3'), SLOW, path.join(dir, 'long-nap.json')], {
      // Its scratch directory (a killed run cannot remove it) in the test's directory.
      env: { ...process.env, STRAND_STORE: store, TMPDIR: dir },
      stdio: 'ignore',
      detached: true,
    });
    const ended = new Promise<NodeJS.Signals | null>((r) => p.on('exit', (_code, sig) => r(sig)));
    try {
      const api = `${dashboard.origin}/api/runs/killed/task?task=slow-scatter/nap/0`;
      const phase = async () => {
        const res = await fetch(api, { headers: { authorization: `Bearer ${dashboard.token}` } });
        return res.ok ? ((await res.json()) as { attempt: { phase: string } }).attempt.phase : String(res.status);
      };
      await expect.poll(phase, { timeout: 20_000, interval: 100 }).toBe('running');
      await page.goto(`${dashboard.origin}/#/runs/killed`);
      const status = page.getByRole('heading', { level: 1 }).locator('.status');
      await expect.poll(() => status.textContent({ timeout: 1000 }), { timeout: 10_000, interval: 100 }).toBe('running');
      await page.evaluate('window.marker = 9');
      // The run's process (and its task, in the same process group) killed: no one writes its end.
      process.kill(-(p.pid as number), 'SIGKILL');
      expect(await ended).toBe('SIGKILL');
      await expect.poll(() => status.textContent({ timeout: 1000 }), { timeout: 15_000, interval: 200 }).toBe('interrupted');
      expect(await page.evaluate('window.marker')).toBe(9);
      expect(await page.locator('[data-node="slow-scatter/nap"]').getAttribute('data-state')).toBe('interrupted');
      await page.getByRole('group', { name: 'Timeline of task attempts' }).waitFor();
      expect(await page.locator('.timeline .row[data-state=interrupted]').count()).toBe(1);
      const duration = () => page.locator('dt:text-is("Duration") + dd').textContent();
      const first = await duration();
      await new Promise((r) => setTimeout(r, 2200));
      expect(await duration()).toBe(first);
      // Its task's page says so too.
      await page.goto(`${dashboard.origin}/#/runs/killed/task?task=slow-scatter/nap/0`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).locator('.status').textContent({ timeout: 1000 }), { timeout: 10_000, interval: 100 }).toBe(
        'interrupted (its process stopped)',
      );
    } finally {
      try {
        process.kill(-(p.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 90_000);

  it("follows a running task on its own page: it turns to done without a reload", async () => {
    // The task runs until the test lets it go (a file appears), not for a fixed time: the page is
    // seen with the task running however slowly it loads (with a 2 s nap, a slow load saw it end).
    const release = path.join(dir, 'release-one-nap');
    const held = path.join(dir, 'held', 'slow-scatter.cwl');
    mkdirSync(path.dirname(held), { recursive: true });
    writeFileSync(
      held,
      readFileSync(SLOW, 'utf8').replace(`sleep "$0"; echo "$0"`, `while [ ! -e ${release} ]; do sleep 0.1; done; echo "$0"`),
    );
    writeFileSync(path.join(dir, 'nap.json'), JSON.stringify({ seconds: [2] }));
    const p = spawn(process.execPath, [CLI, 'run', '--quiet', '--run-id', 'one-nap', '--outdir', path.join(dir, 'out2'), held, path.join(dir, 'nap.json')], {
      env: { ...process.env, STRAND_STORE: store },
      stdio: 'ignore',
    });
    const ended = new Promise<number | null>((r) => p.on('exit', r));
    try {
      // Opened once the task runs (a page opened before the run is recorded says there is no such task).
      const api = `${dashboard.origin}/api/runs/one-nap/task?task=slow-scatter/nap/0`;
      const phase = async () => {
        const res = await fetch(api, { headers: { authorization: `Bearer ${dashboard.token}` } });
        return res.ok ? ((await res.json()) as { attempt: { phase: string } }).attempt.phase : String(res.status);
      };
      await expect.poll(phase, { timeout: 20_000, interval: 100 }).toBe('running');
      await page.goto(`${dashboard.origin}/#/runs/one-nap/task?task=slow-scatter/nap/0`);
      const status = page.getByRole('heading', { level: 1 }).locator('.status');
      expect(await status.textContent({ timeout: 5000 })).toBe('running');
      await page.evaluate('window.marker = 7');
      writeFileSync(release, '');
      expect(await ended).toBe(0);
      await expect.poll(() => status.textContent({ timeout: 1000 }), { timeout: 10_000, interval: 100 }).toBe('done');
      expect(await page.evaluate('window.marker')).toBe(7);
    } finally {
      writeFileSync(release, '');
    }
  }, 60_000);
});
