/**
 * Test data for the report: a small results folder in the results-contract layout (DESIGN),
 * with losses from closed forms so the charts have known shapes: a U in rho with its minimum at
 * rho = 0.75 per budget, a power law in slots per variant, one failed trial, gates with awkward
 * tokens (newlines, "</script>", leading spaces), and a fits.json in src/fit's group shapes.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FixtureOptions {
  fits?: boolean;
  gates?: boolean;
  /** root to create the folder in (default: a fresh temp dir) */
  root?: string;
}

export const FIXTURE_RHOS = [0, 0.25, 0.5, 0.75, 0.875, 1];
export const FIXTURE_SLOTS = [1000, 10000, 100000];
export const FIXTURE_SEEDS = [0, 1];
export const GATE_TOKENS = [
  'The',
  ' cat',
  ' sat',
  '\n',
  'Alexander',
  ' the',
  ' Great',
  ' </script><b>x',
  '  indented',
  '\t',
  ' mill',
  'ion',
  ' dollars',
  '.',
];

/** Per-seed noise that is fixed, small and averages to zero over the two seeds. */
const noise = (seed: number) => (seed === 0 ? 0.004 : -0.004);

/** The U: minimum at rho = 0.75, pure MoE 0.05 above the basin (the budget shifts the level). */
export const uLoss = (budget: string, rho: number, seed: number) =>
  (budget === 'large' ? 3.7 : 4.0) + 0.2 * (rho - 0.75) ** 2 + noise(seed);
export const memLoss = (variant: string, slots: number, seed: number) =>
  4.5 * slots ** -0.01 + (variant === 'overencoding' ? 0.012 : 0) + noise(seed);

interface Trial {
  id: string;
  meta: Record<string, unknown>;
  routed: number | null;
  result: Record<string, unknown>;
  engram: boolean;
}

function writeTrial(dir: string, t: Trial, gates: boolean): void {
  const td = join(dir, 'trials', t.id);
  mkdirSync(td, { recursive: true });
  const config = {
    name: t.id,
    model: {
      dModel: 32,
      nLayers: 2,
      ...(t.routed ? { moe: { shared: 1, routed: t.routed, topK: 2 } } : {}),
      ...(t.engram ? { engram: { layerIds: [1], hcMult: 2 } } : {}),
    },
    train: { seed: t.meta.seed },
    meta: t.meta,
    accounting: { pTot: 1_500_000, pAct: 98_000, pSparse: 1_402_000, slots: t.meta.slots ?? 0 },
  };
  writeFileSync(join(td, 'config.json'), JSON.stringify(config));
  const final = t.result.valLoss as number | null;
  if (final != null) {
    const rows = Array.from({ length: 10 }, (_, i) => {
      const step = i * 10 + 1;
      const row: Record<string, unknown> = {
        step,
        tokens: step * 1024,
        lr: 1e-3,
        loss: final + 2 * Math.exp(-i / 2) + 0.01 * (i % 3),
        tokensPerSec: 5000,
        msPerStep: 200,
      };
      if (i === 4 || i === 9) row.valLoss = final + 2 * Math.exp(-i / 2);
      // layer 0 balanced, layer 1 skewed toward expert 0 (known relative loads)
      if (t.routed)
        row.expertLoad = [
          Array(t.routed).fill(64),
          Array.from({ length: t.routed }, (_, e) => (e === 0 ? 64 * (t.routed! + 1) : 64) / 2),
        ];
      return JSON.stringify(row);
    });
    writeFileSync(join(td, 'metrics.jsonl'), rows.join('\n') + '\n');
  }
  if (gates && t.engram && final != null) {
    const T = GATE_TOKENS.length;
    // gate rises along the excerpt; branch 2 = branch 1 + 0.1, so the mean is g + 0.05
    const layer = Array.from({ length: T }, (_, i) => [(i / (T - 1)) * 0.9, (i / (T - 1)) * 0.9 + 0.1]);
    writeFileSync(join(td, 'gates.json'), JSON.stringify({ tokens: GATE_TOKENS, layers: { '1': layer } }));
  }
  writeFileSync(
    join(td, 'result.json'),
    JSON.stringify({ tokens: 102400, seconds: 12.5, backend: 'wasm', native: false, threads: 1, ...t.result }),
  );
}

function trials(): Trial[] {
  const out: Trial[] = [];
  const ok = (valLoss: number) => ({ status: 'ok', valLoss, valBpb: valLoss / Math.LN2 / 3 });
  let n = 0;
  const id = () => `t${(n++).toString(16).padStart(16, '0')}`;
  for (const seed of FIXTURE_SEEDS) {
    for (const budget of ['small', 'large']) {
      for (const rho of FIXTURE_RHOS) {
        const routed = Math.round(4 + 12 * rho);
        out.push({
          id: id(),
          meta: {
            kind: 'allocation',
            variant: 'engram',
            seed,
            budget,
            rho,
            rhoActual: rho,
            slots: Math.round(50000 * (1 - rho)) + 1,
          },
          routed,
          engram: true,
          result: ok(uLoss(budget, rho, seed)),
        });
      }
      out.push({
        id: id(),
        meta: { kind: 'allocation', variant: 'moe', seed, budget, rho: 1, rhoActual: 1, slots: 0 },
        routed: 16,
        engram: false,
        result: ok(uLoss(budget, 1, seed) + 0.01),
      });
    }
    for (const variant of ['engram', 'overencoding']) {
      for (const slots of FIXTURE_SLOTS)
        out.push({
          id: id(),
          meta: { kind: 'memory', variant, seed, slots },
          routed: 8,
          engram: variant === 'engram',
          result: ok(memLoss(variant, slots, seed)),
        });
    }
  }
  out.push({
    id: id(),
    meta: { kind: 'dense', variant: 'dense', seed: 0, budget: 'small' },
    routed: null,
    engram: false,
    result: ok(4.4),
  });
  out.push({
    id: id(),
    meta: { kind: 'allocation', variant: 'engram', seed: 2, budget: 'small', rho: 0.5, rhoActual: 0.5 },
    routed: 10,
    engram: true,
    result: { status: 'failed', reason: 'diverged', step: 40, valLoss: null, valBpb: null },
  });
  return out;
}

/**
 * The walls src/fit would give (hand-set, known words): small is a U (rho* the vertex); large's
 * rho = 1 wall is within noise, "no right wall" (rho* the best arm, Akima beside).
 */
const wall = (estimate: number, lo: number, hi: number, x: number) => ({
  estimate,
  interval: [lo, hi],
  n: 2,
  method: 'paired-t',
  x,
  against: 0.75,
});
const FIXTURE_SHAPES: Record<string, object> = {
  small: {
    shape: 'U',
    walls: { left: wall(0.1125, 0.1, 0.125, 0), right: wall(0.0125, 0.004, 0.021, 1) },
    rhoStar: { value: 0.75, source: 'vertex', interval: [0.7, 0.8] },
    bestArm: { x: 0.75, loss: 4.0, interval: [0.75, 0.75] },
  },
  large: {
    shape: 'no right wall',
    walls: { left: wall(0.1125, 0.1, 0.125, 0), right: wall(0.0125, -0.002, 0.027, 1) },
    rhoStar: { value: 0.75, source: 'best arm', interval: [0.75, 0.875] },
    bestArm: { x: 0.75, loss: 3.7, interval: [0.75, 0.875] },
  },
};

/** fits.json as src/fit writes it, {sweep, fits: [...]}, with known groups (vertex 0.75). */
export const FIXTURE_FITS = {
  sweep: 'fixture',
  fits: [
    {
      kind: 'ushape',
      x: 'rhoActual',
      y: 'valLoss',
      by: 'budget',
      groups: ['large', 'small'].map((key) => ({
        key,
        n: 12,
        points: 6,
        vertex: 0.75,
        interval: [0.7, key === 'small' ? 0.8 : null],
        vertexAkima: 0.76,
        curvature: 0.4,
        pCurvaturePositive: 0.99,
        gain: 0.0225,
        gainInterval: [0.018, 0.027],
        reference: { source: 'moe', x: 1, loss: uLoss(key, 1, 0) + 0.01, n: 2 },
        r2: 0.97,
        residuals: [],
        edge: key === 'small' ? 'inside' : 'edge',
        converged: true,
        coefficients: { a: 0.2, b: -0.3, c: (key === 'large' ? 3.7 : 4.0) + 0.1125 },
        budget: key,
        horizon: null,
        tokensPerActive: null,
        ...FIXTURE_SHAPES[key],
      })),
    },
    {
      kind: 'powerlaw',
      x: 'slots',
      y: 'valLoss',
      by: 'variant',
      groups: ['engram', 'overencoding'].map((key) => ({
        key,
        n: 6,
        points: 3,
        A: 4.5 + (key === 'overencoding' ? 0.012 : 0),
        alpha: 0.01,
        E: null,
        eReason: 'fewer than 4 distinct slot counts',
        slopePerDecade: -0.0947,
        intercept: 4.48,
        intervals: { A: null, alpha: [0.009, 0.011], slopePerDecade: [-0.103, -0.086], intercept: null },
        r2: 0.99,
        residuals: [],
        converged: true,
        saturating: null,
      })),
      // 0.012 nats at -0.095 nats per decade: Engram needs 10^(-0.012 / 0.095) ~ 0.75 of OverEncoding's slots
      slotMultiple: {
        value: 0.75,
        interval: [0.52, 0.98],
        overencodingLoss: 4.022,
        overencodingSlots: 100000,
        engramSlots: 75000,
        extrapolated: false,
      },
    },
  ],
};

/** Write the fixture folder; returns its path (results/<sweep>-like, named "fixture"). */
export function makeFixture(opts: FixtureOptions = {}): string {
  const root = opts.root ?? mkdtempSync(join(tmpdir(), 'report-'));
  const dir = join(root, 'fixture');
  mkdirSync(join(dir, 'trials'), { recursive: true });
  writeFileSync(
    join(dir, 'sweep.json'),
    JSON.stringify({
      name: 'fixture',
      specHash: 'x',
      spec: {},
      created: '2026-11-27T10:00:00.000Z',
      updated: '2026-11-28T12:34:56.000Z',
      trials: [],
    }),
  );
  for (const t of trials()) writeTrial(dir, t, opts.gates ?? true);
  if (opts.fits ?? true) writeFileSync(join(dir, 'fits.json'), JSON.stringify(FIXTURE_FITS));
  return dir;
}
