/**
 * The HTML report in a real browser: a run with a use-after-unlock by construction (the driver
 * unlocks its buffer before ringing the copy engine's doorbell), rendered to a file, opened as
 * file:// in headless Chromium (Debian's, through playwright-core: no browser download). The page
 * asks nothing of the network, draws the timeline with the violating frame's lane first, and a
 * click on the red marker shows the record with its lock and unlock stacks. The screenshot is the
 * README's picture (docs/html-report.png).
 */

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { copyEngine as CE } from '../src/index.js';
import { writeHtmlReport } from '../src/report/html.js';
import { ceCopy, lockedPages } from './dma-helpers.js';
import { simulatorsClosedAfterEach } from './helpers.js';

const FILE = 'html-report-browser.test.ts';
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
// The README's picture is refreshed only on request (DMASIM_UPDATE_DOCS=1 npm test), so a test run
// leaves the working tree clean; otherwise the screenshot goes with the other generated reports.
const SCREENSHOT = fileURLToPath(new URL(process.env.DMASIM_UPDATE_DOCS === '1' ? '../docs/html-report.png' : '../dmasim-reports/html-report.png', import.meta.url));
const pool = simulatorsClosedAfterEach();

if (!HAVE_CHROMIUM) console.warn(`${FILE}: skipped, ${CHROMIUM} is not installed (apt-get install -y chromium; .ci/run does it)`);

describe.skipIf(!HAVE_CHROMIUM)(`the HTML report in headless Chromium${HAVE_CHROMIUM ? '' : ` (skipped: no ${CHROMIUM})`}`, () => {
  it('shows the use-after-unlock on its frame: lane first, red marker, details with the lock and unlock stacks, nothing fetched', async () => {
    const options = { pager: 'aggressive', seed: 3 } as const;
    const sim = await pool.make(options);
    const dev = await sim.attachDevice('copy-engine');
    // A correct transfer first (lock, hand out, DMA, then unlock)…
    const good = lockedPages(sim, 2);
    expect(await ceCopy(dev, good.phys[0]!, good.phys[1]!, 4096)).toEqual({ status: CE.STATUS.DONE, error: 0, bytes: 4096 });
    expect(sim.vmm.linPageUnLock(good.page, 2, 0)).toBe(1);
    // …then the bug: the buffer is unlocked before the doorbell rings.
    const buf = lockedPages(sim, 2);
    expect(sim.vmm.linPageUnLock(buf.page, 2, 0)).toBe(1);
    expect((await ceCopy(dev, buf.phys[0]!, buf.phys[1]!, 4096)).error).toBe(CE.ERROR.DMA_REFUSED);
    dev.ackInterrupt();
    const report = sim.report();
    const first = report.violations[0]!;
    expect(first.code).toBe('dma-unlocked');

    const dir = await mkdtemp(join(tmpdir(), 'dmasim-html-'));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const file = join(dir, 'report.html');
      await writeHtmlReport(file, report);
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(pathToFileURL(file).href);

      const timeline = page.getByTestId('timeline');
      await expect.poll(() => timeline.isVisible()).toBe(true);
      const lanes = page.getByTestId('lane');
      expect(await lanes.count()).toBeGreaterThanOrEqual(2);
      // Violating frames first, highlighted.
      expect(await lanes.first().getAttribute('data-frame')).toBe(String(first.frame));
      expect(await lanes.first().getAttribute('class')).toContain('violating');

      const marker = page.locator(`[data-testid="violation-marker"][data-seq="${first.seq}"]`);
      expect(await marker.isVisible()).toBe(true);
      const details = page.getByTestId('violation-details');
      expect(await details.isVisible()).toBe(false);
      await marker.click();
      expect(await details.isVisible()).toBe(true);
      expect(await details.textContent()).toContain('dma-unlocked');
      expect(await details.locator('[data-stack="lock"]').textContent()).toContain('dma-helpers.ts');
      expect(await details.locator('[data-stack="unlock"]').textContent()).toContain(FILE);
      expect(await details.locator('[data-stack="programmed"]').textContent()).toContain('dma-helpers.ts');

      await mkdir(join(SCREENSHOT, '..'), { recursive: true });
      const png = await page.screenshot({ path: SCREENSHOT });
      expect(png.length).toBeGreaterThan(10_000);

      expect(errors).toEqual([]);
      expect(requests.length).toBeGreaterThan(0);
      for (const url of requests) expect(url).toMatch(/^(file|data):/);
    } finally {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
