/**
 * End to end: a tiny real sweep (3 allocation trials, 2 Engram and 2 OverEncoding memory trials,
 * 3 steps each on a 3-book corpus), fitted; its bundle; both notebooks built by
 * notebooks/build.mjs with Notebook Kit, and the U-shape notebook again from the horizons fixture
 * (test/report/horizons-fixture.ts) for its horizon view; the pages served on 127.0.0.1 by build.mjs and loaded in
 * headless Chromium (FIELD-NOTES flags, fresh profile). Every chart must hold an SVG with one
 * mark per trial where the data say so, and the page must log no console error, show no cell
 * error, and request nothing from any host but the local server.
 * The browser part needs /usr/bin/chromium (Debian's `chromium`); it skips without it unless
 * ENGRAM_SWEEP_REQUIRE_SYSTEM=1 (CI), where a missing browser fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCorpusDir } from '../../src/data/corpus.js';
import { fitSweep } from '../../src/fit/index.js';
import { bundleSweep, type Bundle } from '../../src/results/bundle.js';
import { H_TOKENS, makeHorizonsFixture } from '../report/horizons-fixture.js';
import { INSTALL_CHROMIUM, skipBecause } from '../helpers/skip.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO, 'dist/cli/bin.js');
const BUILD = join(REPO, 'notebooks/build.mjs');
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

const root = mkdtempSync(join(tmpdir(), 'es-notebooks-'));
const sweepDir = join(root, 'results', 'nbtiny');
const stage = join(root, 'nb');
const out = join(stage, 'dist');
const times: Record<string, number> = {};
let bundle: Bundle;
/** the sweep run's stderr: it ends with the one-line answer (src/cli/after-sweep.ts) */
let runLog = '';
let server: ChildProcess | undefined;
let url = '';
/** notebooks/data/ of the checkout: a build staged elsewhere must not touch it */
const ourData = () =>
  ['ushape', 'memory']
    .map((n) => join(REPO, 'notebooks/data', `${n}.json`))
    .map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : null));
let dataBefore: (string | null)[] = [];

const SPEC = `name: nbtiny
data: { corpus: ${JSON.stringify(join(root, 'corpus'))}, vocabSize: 300, seqLen: 16, valTokens: 1024 }
backbone:
  dModel: 16
  nLayers: 2
  nHeads: 2
  moe: { shared: 1, routed: 4, topK: 2, expertHidden: 8 }
  engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 8, initStd: 0.02 }
  overEncoding: { maxNgram: 3, headsPerNgram: 2, dimPerNgram: 8, initStd: 0.02 }
budgets:
  - { name: tiny, ratio: 4 }
train: { steps: 3, batchSize: 4, warmup: 1, logEvery: 1 }
axes:
  rho: [0, 0.5, 1]
  slots: [1000, 3000]
  variants: [engram, overencoding]
exclude: [{ variant: overencoding, budget: tiny }]
rhoOne: minimal
`;

function timed<T>(name: string, f: () => T): T {
  const t0 = Date.now();
  const r = f();
  times[name] = Date.now() - t0;
  return r;
}

const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
const kinds = (kind: string, variant?: string) =>
  bundle.trials.filter((t) => t.meta.kind === kind && (!variant || t.meta.variant === variant));

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/ is not built: npx tsc -p tsconfig.json');
  mkdirSync(join(root, 'corpus'));
  for (const f of ['carroll-alice.txt', 'blake-poems.txt', 'burgess-busterbrown.txt']) {
    writeFileSync(join(root, 'corpus', f), readFileSync(join(defaultCorpusDir(), f)));
  }
  writeFileSync(join(root, 'tiny.yaml'), SPEC);
  const run = timed('sweep', () =>
    node([
      CLI,
      'run',
      join(root, 'tiny.yaml'),
      '--results',
      join(root, 'results'),
      '--workers',
      '2',
      '--backend',
      'wasm',
    ]),
  );
  expect(run.status, run.stderr).toBe(0);
  runLog = run.stderr;
  timed('fit', () => fitSweep(sweepDir, { resamples: 20 }));
  bundle = bundleSweep(sweepDir);
  dataBefore = ourData();
  const build = timed('build', () => node([BUILD, 'build', '--results', sweepDir, '--root', stage, '--out', out]));
  expect(build.status, build.stderr).toBe(0);
  // the horizon view needs a horizons sweep: the fixture's (2 budgets x 4 horizons, 5 seeds), fitted
  mkdirSync(join(root, 'hres'));
  const hDir = makeHorizonsFixture(5, join(root, 'hres'));
  fitSweep(hDir, { resamples: 200 });
  const hBuild = node([
    BUILD,
    'build',
    '--ushape',
    hDir,
    '--memory',
    sweepDir,
    '--root',
    join(root, 'nbh'),
    '--out',
    join(out, 'horizons'),
  ]);
  expect(hBuild.status, hBuild.stderr).toBe(0);
  server = spawn(process.execPath, [BUILD, 'serve', '--out', out, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((res, rej) => {
    let text = '';
    server!.stdout!.on('data', (d) => {
      text += d;
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(text);
      if (m) res(m[1]);
    });
    server!.on('exit', (code) => rej(new Error(`serve exited with ${code}`)));
  });
}, 120_000);

afterAll(() => {
  server?.kill();
  rmSync(root, { recursive: true, force: true });
  process.stderr.write(
    `notebooks test: sweep ${times.sweep} ms, fit ${times.fit} ms, build ${times.build} ms, pages ${times.pages ?? '-'} ms\n`,
  );
});

describe('the end of a real sweep', () => {
  it("prints the one-line answer last: the shape classifier's word per budget (one seed: nothing resolved)", () => {
    const last = runLog.trim().split('\n').at(-1)!;
    expect(last).toMatch(
      /^answer: tiny: inconclusive \(dL0 [-+]\d\.\d{4} \[no interval\], dL1 [-+]\d\.\d{4} \[no interval\] nats, 1 seed, paired-t\); rho\* = \d\.\d\d \(best arm; Akima \d\.\d\d\)$/,
    );
  });
});

describe('bundle of a real sweep', () => {
  it('holds every planned trial with its result.json, config accounting and full (short) metrics', () => {
    const sweep = JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8'));
    expect(bundle.trials.map((t) => t.id)).toEqual(sweep.trials.map((t: { id: string }) => t.id));
    expect(bundle.trials).toHaveLength(7);
    for (const t of bundle.trials) {
      const dir = join(sweepDir, 'trials', t.id);
      expect(t.result).toEqual(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')));
      expect(t.result!.status).toBe('ok');
      expect(t.accounting).toEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).accounting);
      const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(t.metrics).toEqual(rows);
      expect(rows.map((r) => r.step)).toEqual([1, 2, 3]);
    }
    expect(kinds('allocation')).toHaveLength(3);
    expect(kinds('memory', 'engram')).toHaveLength(2);
    expect(kinds('memory', 'overencoding')).toHaveLength(2);
  });

  it("carries the fits and an Engram trial's gates", () => {
    expect(bundle.fits).toEqual(JSON.parse(readFileSync(join(sweepDir, 'fits.json'), 'utf8')));
    expect(bundle.gates!.meta.variant).toBe('engram');
    const g = JSON.parse(readFileSync(join(sweepDir, 'trials', bundle.gates!.trial, 'gates.json'), 'utf8'));
    expect(bundle.gates!.tokens).toEqual(g.tokens);
    expect(bundle.gates!.layers).toEqual(g.layers);
  });
});

describe('notebooks/build.mjs', () => {
  it('builds both pages with the bundle baked in as an asset, and leaves notebooks/data alone', () => {
    expect(existsSync(join(out, 'ushape.html'))).toBe(true);
    expect(existsSync(join(out, 'memory.html'))).toBe(true);
    // both pages read the same sweep here, so vite may emit one file for the two (same hash)
    const assets = readdirSync(join(out, 'assets')).filter((f) => /^(ushape|memory)-.*\.json$/.test(f));
    expect(assets.length).toBeGreaterThanOrEqual(1);
    for (const file of assets) {
      const data = JSON.parse(readFileSync(join(out, 'assets', file), 'utf8'));
      expect(data.source).toBe(sweepDir);
      delete data.source;
      expect(data).toEqual(JSON.parse(JSON.stringify(bundle)));
    }
    expect(ourData()).toEqual(dataBefore);
  });

  it('bad input is one line and exit 2', () => {
    const r = node([BUILD, 'data', '--results', join(root, 'missing')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`notebooks: --results: ${join(root, 'missing')} does not exist`]);
    const u = node([BUILD, 'frobnicate']);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/unknown command frobnicate/);
  });
});

const PAGES = {
  'ushape.html': ['ushape:tiny', 'expert-load', 'imbalance', 'gates', 'training'],
  'memory.html': ['memory', 'difference', 'training'],
  'horizons/ushape.html': ['ushape:large', 'horizons:large', 'horizons:small', 'rhostar', 'walls'],
};

describe.skipIf(
  skipBecause(
    !available && !REQUIRED,
    'the built notebooks in headless Chromium',
    `${CHROMIUM} not installed`,
    INSTALL_CHROMIUM,
  ),
)(
  `the built notebooks in headless Chromium${available ? '' : ' (skipped: /usr/bin/chromium not installed; apt-get install chromium)'}`,
  () => {
    let profile: string;
    let context: BrowserContext;
    const errors: Record<string, string[]> = {};
    const offHost: string[] = [];
    const failed: string[] = [];
    const pages: Record<string, Page> = {};

    beforeAll(async () => {
      expect(existsSync(CHROMIUM), `ENGRAM_SWEEP_REQUIRE_SYSTEM=1 but ${CHROMIUM} is missing`).toBe(true);
      const t0 = Date.now();
      profile = mkdtempSync(join(tmpdir(), 'notebooks-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
      });
      await context.route('**/*', (route) => {
        const u = route.request().url();
        if (u.startsWith(url) || /^(data|blob):/.test(u)) return route.continue();
        offHost.push(u);
        return route.abort();
      });
      for (const [name, charts] of Object.entries(PAGES)) {
        const page = await context.newPage();
        errors[name] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors[name].push(m.text());
        });
        page.on('pageerror', (e) => errors[name].push(e.message));
        page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
        await page.goto(url + name);
        // every chart drawn, or a cell failed (the tests below say which)
        const selectors = JSON.stringify(charts.map((c) => `[data-chart="${c}"] svg`));
        await page.waitForFunction(
          `${selectors}.every((s) => document.querySelector(s)) || document.querySelector('.observablehq--error')`,
          null,
          { timeout: 60_000 },
        );
        pages[name] = page;
      }
      times.pages = Date.now() - t0;
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('renders every chart as an svg, and no cell errors', async () => {
      for (const [name, charts] of Object.entries(PAGES)) {
        const page = pages[name];
        expect(await page.locator('.observablehq--error').allTextContents(), name).toEqual([]);
        for (const c of charts)
          expect(await page.locator(`[data-chart="${c}"] svg`).count(), `${name} ${c}`).toBeGreaterThan(0);
      }
    });

    it('ushape: one point per allocation trial, one mean per rho, the fitted curve, the load and the gates', async () => {
      const page = pages['ushape.html'];
      const u = page.locator('[data-chart="ushape:tiny"]');
      expect(await u.locator('g.seed circle').count()).toBe(3);
      expect(await u.locator('g.mean path').count()).toBe(3);
      expect(await u.locator('g.fit path').count()).toBe(1);
      // one cell per layer and expert of each allocation trial's last expertLoad
      const cells = kinds('allocation').reduce(
        (s, t) => s + (t.metrics.at(-1)!.expertLoad as number[][]).flat().length,
        0,
      );
      expect(await page.locator('[data-chart="expert-load"] g.load rect').count()).toBe(cells);
      const g = bundle.gates!;
      const layers = Object.keys(g.layers);
      expect(await page.locator('.gate-text span').count()).toBe(g.tokens.length * layers.length);
      expect(await page.locator('.gate-text span').first().textContent()).toBe(g.tokens[0].replace(/\n/g, '↵\n'));
      expect(await page.locator('[data-chart="gates"] g.gate rect').count()).toBe(
        layers.reduce((s, l) => s + g.layers[l].flat().length, 0),
      );
      expect(await page.locator('[data-chart="training"] g.train-loss path').count()).toBe(3);
    });

    it('memory: one point per memory trial on log axes, a fitted law per variant, the Engram - OverEncoding differences', async () => {
      const page = pages['memory.html'];
      const m = page.locator('[data-chart="memory"]');
      expect(await m.locator('g.seed circle').count()).toBe(4);
      expect(await m.locator('g.mean path').count()).toBe(4);
      expect(await m.locator('g.fit path').count()).toBe(2);
      // log x axis: the slot ticks sit at log positions (1000 -> 2000 spans log10(2) / log10(3) of 1000 -> 3000)
      const ticks = await m
        .locator('g[aria-label="x-axis tick"] path')
        .evaluateAll((ps) =>
          ps.map((p) => (p.getAttribute('transform') ?? '').match(/translate\(([\d.]+)/)?.[1]).map(Number),
        );
      const labels = await m.locator('g[aria-label="x-axis tick label"] text').allTextContents();
      const at = (label: string) => ticks[labels.indexOf(label)];
      expect(labels).toEqual(expect.arrayContaining(['1k', '2k', '3k']));
      expect((at('2k') - at('1k')) / (at('3k') - at('1k'))).toBeCloseTo(Math.log10(2) / Math.log10(3), 2);
      expect(await page.locator('[data-chart="difference"] g.delta circle').count()).toBe(2);
      expect(await page.locator('[data-table="trials"] tbody tr').count()).toBe(7);
    });

    it('ushape, horizon view: one curve per horizon and budget, rho* and both walls per (budget, horizon), the paper band', async () => {
      const page = pages['horizons/ushape.html'];
      const per = H_TOKENS.length;
      expect(await page.locator('[data-chart="horizons:large"] g.horizon-curve path').count()).toBe(per);
      expect(await page.locator('[data-chart="horizons:small"] g.horizon-mean circle').count()).toBe(per * 5);
      expect(await page.locator('[data-chart="rhostar"] g.rhostar circle').count()).toBe(2 * per);
      expect(await page.locator('[data-chart="rhostar"] g.paper-band rect').count()).toBe(1);
      expect(await page.locator('[data-chart="walls"] g.wall circle').count()).toBe(2 * 2 * per);
      expect(await page.locator('[data-table="trends"] tbody tr').count()).toBe(2);
      // the U-curve of a horizons sweep is its longest horizon, fitted, with the shape word
      expect(await page.locator('[data-chart="ushape:large"] g.fit path').count()).toBe(1);
      expect(await page.locator('[data-chart="ushape:large"] p.note').textContent()).toMatch(
        /^engram at 1\.05M tokens: U, ρ\* = 0\.7/,
      );
      // a sweep without horizons says so instead of drawing
      expect(await pages['ushape.html'].locator('[data-chart="rhostar"]').count()).toBe(0);
      expect(await pages['ushape.html'].locator('p.note').allTextContents()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^No horizons in this sweep/)]),
      );
    });

    it('logs no console error and requests nothing but the local server', () => {
      expect(errors).toEqual({ 'ushape.html': [], 'memory.html': [], 'horizons/ushape.html': [] });
      expect(offHost).toEqual([]);
      expect(failed).toEqual([]);
    });
  },
);
