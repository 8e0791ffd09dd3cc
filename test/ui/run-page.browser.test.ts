// The run page in headless Chromium on a finished run of skips-and-failures.cwl: steps skipped by
// `when` (plain, scattered, inside a scattered sub-workflow) drawn as skipped, tasks cancelled
// before they started drawn up to their cancellation (not to the right edge), the failed-tasks
// panel, and sub-workflow boxes painted under the edges that cross them.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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
const RUN = 'skips-fails';
const W = 'skips-and-failures';

describe.skipIf(!CHROMIUM)('the run page of a run with skipped steps and failed tasks', () => {
  let dir = '';
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'ui', 'index.html')) || !existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    }
    dir = await mkdtemp(path.join(os.tmpdir(), 'strand-ui-run-'));
    const store = path.join(dir, 'store');
    const p = spawn(process.execPath, [CLI, 'run', '--quiet', '--parallel', '1', '--run-id', RUN, '--outdir', path.join(dir, 'out'), FIXTURE], {
      env: { ...process.env, STRAND_STORE: store },
      stdio: 'ignore',
    });
    expect(await new Promise<number | null>((r) => p.on('exit', r))).toBe(1);
    dashboard = await startDashboard({ storeDir: store, port: 0, pollMs: 200 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(dashboard.url);
    await page.goto(`${dashboard.origin}/#/runs/${RUN}`);
    await page.getByRole('group', { name: 'Timeline of task attempts' }).waitFor();
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
  });
});
