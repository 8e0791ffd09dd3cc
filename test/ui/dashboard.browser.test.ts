// The dashboard end to end in headless Chromium (Debian's `chromium`, driven by playwright-core):
// the run list (filter, search), a live update of a running run (a real `strand run` of a slow
// scatter: its step changes colour without a reload), navigation to a run, a task and its logs,
// keyboard navigation and accessible names. Screenshots go to test-output/ui/ (gitignored).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../src/ui/server.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin', 'strand.js');
const FIXTURE = path.join(ROOT, 'test', 'ui', 'fixtures', 'slow-scatter.cwl');
const SHOTS = path.join(ROOT, 'test-output', 'ui');

if (!CHROMIUM) console.log('dashboard browser tests skipped: no chromium (apt-get install -y chromium)');

describe.skipIf(!CHROMIUM)('strand ui in headless Chromium', () => {
  let dir = '';
  let store = '';
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  let finishedRun = '';
  const children: ChildProcess[] = [];
  /** What Chromium said about the page's Content-Security-Policy (nothing, if the page keeps to it). */
  const cspViolations: string[] = [];

  const strand = (args: string[]) =>
    spawn(process.execPath, [CLI, ...args], { env: { ...process.env, STRAND_STORE: store }, stdio: ['ignore', 'pipe', 'pipe'] });

  async function runToEnd(args: string[]): Promise<void> {
    const p = strand(args);
    const code = await new Promise<number | null>((r) => p.on('exit', r));
    expect(code).toBe(0);
  }

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'ui', 'index.html')) || !existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    }
    mkdirSync(SHOTS, { recursive: true });
    dir = await mkdtemp(path.join(os.tmpdir(), 'strand-ui-'));
    store = path.join(dir, 'store');
    writeFileSync(path.join(dir, 'quick.json'), JSON.stringify({ seconds: [0.1, 0.2] }));
    await runToEnd(['run', '--quiet', '--run-id', 'quick-naps', '--outdir', path.join(dir, 'out1'), FIXTURE, path.join(dir, 'quick.json')]);
    finishedRun = 'quick-naps';
    dashboard = await startDashboard({ storeDir: store, port: 0, pollMs: 200 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await browser?.close();
    await dashboard?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function shot(name: string): Promise<void> {
    const file = path.join(SHOTS, name);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${path.relative(ROOT, file)}`);
  }

  it('opened without the token it started with, shows no run and says how to get in', async () => {
    const stranger = await browser.newPage();
    try {
      await stranger.goto(`${dashboard.origin}/`);
      await expect.poll(() => stranger.getByRole('alert').textContent()).toMatch(/not authorized: open the address that strand ui printed/);
      expect(await stranger.getByRole('table').count()).toBe(0);
    } finally {
      await stranger.close();
    }
  });

  it('loads the run list, with accessible names, search and a status filter', async () => {
    // The printed address (with ?token=) sets the cookie and leaves the address bar.
    await page.goto(dashboard.url);
    expect(page.url()).toBe(`${dashboard.origin}/`);
    const table = page.getByRole('table');
    await expect.poll(() => table.getByRole('link', { name: finishedRun }).count()).toBe(1);
    expect(await page.getByRole('heading', { level: 1, name: 'Runs' }).count()).toBe(1);
    expect(await page.getByRole('searchbox', { name: /Search/ }).count()).toBe(1);
    expect(await page.getByRole('combobox', { name: /Status/ }).count()).toBe(1);
    const row = table.locator(`tr[data-run="${finishedRun}"]`);
    expect(await row.getByText('success').count()).toBe(1);
    expect(await row.getByText('local').count()).toBe(1);
    expect(await row.textContent()).toContain('3/3 ok');
    // One time convention (as strand list prints it): local time, the zone said once in the header,
    // the exact instant in the element.
    const started = row.locator('time');
    expect(await started.textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(await started.getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(await page.locator('header.top').textContent()).toMatch(/times are local: UTC[+-]\d\d:\d\d/);

    await page.getByRole('searchbox', { name: /Search/ }).fill('no-such-run');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByRole('table').locator('tbody tr').count()).toBe(0);
    expect(await page.locator('caption').textContent()).toContain('0 runs matching');
    await page.goto(`${dashboard.url}#/?status=failed`);
    await expect.poll(async () => (await page.locator('caption').textContent()) ?? '').toContain('0 runs matching');
    await page.goto(`${dashboard.url}#/?q=quick`);
    await expect.poll(() => page.getByRole('table').getByRole('link', { name: finishedRun }).count()).toBe(1);
    expect(await page.getByRole('searchbox', { name: /Search/ }).inputValue()).toBe('quick');
    await shot('run-list.png');
  });

  it('opens a run by keyboard: Tab goes through the page in order, Enter opens the focused run', async () => {
    await page.goto(dashboard.url);
    await page.getByRole('link', { name: finishedRun }).waitFor();
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      // A string, evaluated in the page (this file is type-checked without the DOM library).
      const focused = (await page.evaluate(
        `(() => { const el = document.activeElement; return el ? el.tagName.toLowerCase() + ':' + (el.getAttribute('aria-label') ?? el.textContent.trim()) : ''; })()`,
      )) as string;
      seen.push(focused);
      if (focused === `a:${finishedRun}`) break;
    }
    // The brand link, the search box, the status filter and its button come before the runs.
    expect(seen[0]).toBe('a:Strand');
    expect(seen[1]).toMatch(/^input:/);
    expect(seen[2]).toMatch(/^select:/);
    expect(seen[3]).toBe('button:Search');
    expect(seen).toContain(`a:${finishedRun}`);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: new RegExp(`Run ${finishedRun}`) }).waitFor();
    expect(page.url()).toContain(`#/runs/${finishedRun}`);
  });

  it('shows a running run live: its scatter step turns from running to done without a reload', async () => {
    writeFileSync(path.join(dir, 'slow.json'), JSON.stringify({ seconds: [1.5, 1.5, 1.5, 1.5] }));
    const run = strand(['run', '--quiet', '--parallel', '2', '--run-id', 'slow-naps', '--outdir', path.join(dir, 'out2'), FIXTURE, path.join(dir, 'slow.json')]);
    children.push(run);
    const ended = new Promise<number | null>((r) => run.on('exit', r));
    // The run appears in the list while it runs.
    await page.goto(dashboard.url);
    await page.getByRole('link', { name: 'slow-naps' }).click({ timeout: 20_000 });
    await page.evaluate('window.marker = 42');
    const nap = page.locator('[data-node="slow-scatter/nap"]');
    await expect.poll(() => nap.getAttribute('data-state'), { timeout: 20_000, interval: 100 }).toBe('running');
    const link = page.getByRole('link', { name: /^nap: running/ });
    expect(await link.count()).toBe(1);
    await shot('run-live.png');
    expect(await ended).toBe(0);
    await expect.poll(() => nap.getAttribute('data-state'), { timeout: 20_000, interval: 100 }).toBe('ok');
    await expect.poll(() => page.locator('[data-node="slow-scatter/count"]').getAttribute('data-state'), { timeout: 10_000 }).toBe('ok');
    expect(await page.getByRole('link', { name: /^nap: done, 4 of 4 tasks done/ }).count()).toBe(1);
    // Same page, no reload: the marker set before is still there.
    expect(await page.evaluate('window.marker')).toBe(42);
    await expect.poll(() => page.getByRole('group', { name: 'Timeline of task attempts' }).getByRole('link').count(), { timeout: 10_000 }).toBe(5);
    await shot('run-graph.png');
  }, 90_000);

  it('navigates from a run to a step, a task, and its full logs', async () => {
    await page.goto(`${dashboard.url}#/runs/slow-naps`);
    expect(await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Runs' }).count()).toBe(1);
    expect(await page.getByRole('group', { name: 'Workflow graph' }).count()).toBe(1);
    await page.getByRole('link', { name: /^nap: done/ }).click();
    await page.getByRole('heading', { name: /Timeline of nap/ }).waitFor();
    const rows = page.getByRole('group', { name: 'Timeline of task attempts' }).getByRole('link');
    await expect.poll(() => rows.count()).toBe(4);
    await rows.filter({ hasText: 'slow-scatter/nap/2' }).first().focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: /Task slow-scatter\/nap\/2/ }).waitFor();
    const cmd = page.getByRole('region', { name: 'Command line' });
    expect(await cmd.textContent()).toContain('sleep');
    expect(await cmd.textContent()).toContain('1.5');
    expect(await page.getByRole('region', { name: 'Resources' }).textContent()).toMatch(/1 core/);
    expect(await page.getByLabel('stderr tail').textContent()).toContain('napping for 1.5 s');
    await shot('task.png');
    await page.getByRole('region', { name: 'Full logs' }).getByRole('link', { name: 'stderr' }).click();
    await page.getByRole('heading', { level: 1, name: /stderr of slow-scatter\/nap\/2/ }).waitFor();
    await expect.poll(() => page.getByLabel('stderr log').textContent()).toContain('napping for 1.5 s');
  }, 60_000);

  it('marks the tasks a run reused from the task cache, in the graph and the timeline', async () => {
    await runToEnd(['run', '--quiet', '--run-id', 'quick-again', '--outdir', path.join(dir, 'out3'), FIXTURE, path.join(dir, 'quick.json')]);
    await page.goto(`${dashboard.url}#/runs/quick-again`);
    const nap = page.locator('[data-node="slow-scatter/nap"]');
    await expect.poll(() => nap.getAttribute('data-state')).toBe('cached');
    expect(await page.getByRole('link', { name: /^nap: reused from cache, 2 of 2 tasks done, 2 reused/ }).count()).toBe(1);
    const rows = page.getByRole('group', { name: 'Timeline of task attempts' }).getByRole('link', { name: /^slow-scatter\/nap\/\d attempt 1: reused from cache, .*cached from quick-naps/ });
    await expect.poll(() => rows.count()).toBe(2);
    await shot('run-cached.png');
  }, 60_000);

  it('ran every page above under its Content-Security-Policy, without a violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
