/**
 * End to end: report.html opened from file:// in headless Chromium (FIELD-NOTES flags) with every
 * non-file request aborted and recorded. Every chart container must hold a rendered SVG, the page
 * must log no console error, and nothing may be requested from the network.
 * Needs /usr/bin/chromium (Debian's `chromium`); skips without it unless
 * ENGRAM_SWEEP_REQUIRE_SYSTEM=1 (CI), where a missing browser fails.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitSweep } from '../../src/fit/index.js';
import { writeReport } from '../../src/report/index.js';
import { GATE_TOKENS, makeFixture } from './fixture.js';
import { makeHorizonsFixture } from './horizons-fixture.js';
import { INSTALL_CHROMIUM, skipBecause } from '../helpers/skip.js';

const CHROMIUM = '/usr/bin/chromium';
const REQUIRED = process.env.ENGRAM_SWEEP_REQUIRE_SYSTEM === '1';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];
const available = existsSync(CHROMIUM);

describe.skipIf(
  skipBecause(
    !available && !REQUIRED,
    'report.html in headless Chromium',
    `${CHROMIUM} not installed`,
    INSTALL_CHROMIUM,
  ),
)(
  `report.html in headless Chromium${available ? '' : ' (skipped: /usr/bin/chromium not installed; apt-get install chromium)'}`,
  () => {
    let profile: string;
    let dir: string;
    let context: BrowserContext;
    let charts: string[];
    const errors: string[] = [];
    const offPage: string[] = [];

    beforeAll(async () => {
      expect(existsSync(CHROMIUM), `ENGRAM_SWEEP_REQUIRE_SYSTEM=1 but ${CHROMIUM} is missing`).toBe(true);
      dir = makeFixture();
      const out = await writeReport(dir);
      charts = out.charts;
      profile = mkdtempSync(join(tmpdir(), 'report-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
      });
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (/^(file|data|blob):/.test(url)) return route.continue();
        offPage.push(url);
        return route.abort();
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(out.html).href);
      await page.waitForSelector('body[data-rendered]', { timeout: 60_000 });
    });

    afterAll(async () => {
      await context?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
      if (dir) rmSync(dirname(dir), { recursive: true, force: true });
    });

    it('a horizons sweep: the horizon charts render too, without console errors', async () => {
      const hDir = makeHorizonsFixture(3);
      try {
        fitSweep(hDir, { resamples: 200 });
        const out = await writeReport(hDir);
        expect(out.charts).toEqual(['ushape', 'horizons', 'rhostar', 'walls']);
        const page = await context.newPage();
        const pageErrors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') pageErrors.push(m.text());
        });
        await page.goto(pathToFileURL(out.html).href);
        await page.waitForSelector('body[data-rendered]', { timeout: 60_000 });
        expect(await page.getAttribute('body', 'data-rendered')).toBe('4/4');
        for (const name of out.charts)
          expect(await page.locator(`#chart-${name} .vega svg.marks`).count(), `chart ${name}`).toBeGreaterThan(0);
        expect(pageErrors).toEqual([]);
        await page.close();
      } finally {
        rmSync(dirname(hDir), { recursive: true, force: true });
      }
    });

    it('renders every chart: an svg inside each chart container', async () => {
      const page = context.pages()[0];
      expect(await page.getAttribute('body', 'data-rendered')).toBe(`${charts.length}/${charts.length}`);
      for (const name of charts) {
        const n = await page.locator(`#chart-${name} .vega svg.marks, #chart-${name} .vega canvas`).count();
        expect(n, `chart ${name}`).toBeGreaterThan(0);
      }
    });

    it('draws the data: one text mark per gate token, one symbol per U-shape trial', async () => {
      const page = context.pages()[0];
      expect(await page.locator('#chart-gates [aria-roledescription="text mark"]').count()).toBe(GATE_TOKENS.length);
      expect(await page.locator('#chart-ushape [aria-roledescription="point"]').count()).toBe(28);
    });

    it('logs no console error and requests nothing off the page', () => {
      expect(errors).toEqual([]);
      expect(offPage).toEqual([]);
    });

    it('links nowhere: no editor link, no http(s) anchors', async () => {
      const page = context.pages()[0];
      expect(await page.locator('a[href^="http"]').count()).toBe(0);
      expect(await page.locator('.vega-actions a', { hasText: /editor/i }).count()).toBe(0);
    });
  },
);
