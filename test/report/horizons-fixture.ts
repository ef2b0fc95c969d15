/**
 * A horizons sweep in the results-contract layout: each allocation trial trains once and records
 * four cooldown branches in result.json's `horizons` (src/contract/results.ts). Losses come from a
 * closed form with a known optimum that moves with the horizon:
 *   L = base(budget) - 0.15 k + 0.3 (rho - r_k)^2 + seed effect + small fixed noise,
 * k = log2(tokens / H0) = 0..3, r_k = 0.05 + 0.2 k (small: rho* 0.05 -> 0.65) and 0.35 + 0.12 k
 * (large: 0.35 -> 0.71). The seed effect is shared by every rho of a seed (common random
 * numbers), so pairing by seed removes it. Pure MoE (variant moe) sits 0.05 above rho = 1.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const H_RHOS = [0, 0.25, 0.5, 0.75, 1];
export const H0 = 131072;
export const H_TOKENS = [H0, 2 * H0, 4 * H0, 8 * H0];
export const H_BUDGETS = {
  small: { base: 4.4, pAct: 100_000, r0: 0.05, dr: 0.2 },
  large: { base: 4.0, pAct: 400_000, r0: 0.35, dr: 0.12 },
};
const SEED_EFFECT = [0.012, -0.004, -0.008, 0.006, -0.006];

/** Fixed small noise, the same for a given (seed, rho index, horizon index). */
const jitter = (seed: number, i: number, k: number) => 0.0015 * Math.sin(1.7 * seed + 2.3 * i + 0.9 * k + 0.4);

export type HBudget = keyof typeof H_BUDGETS;
export const hOptimum = (b: HBudget, k: number) => H_BUDGETS[b].r0 + H_BUDGETS[b].dr * k;
export const hLoss = (b: HBudget, rho: number, k: number, seed: number) =>
  H_BUDGETS[b].base -
  0.15 * k +
  0.3 * (rho - hOptimum(b, k)) ** 2 +
  SEED_EFFECT[seed] +
  jitter(seed, H_RHOS.indexOf(rho), k);

function writeTrial(dir: string, id: string, meta: Record<string, unknown>, pAct: number, losses: number[]): void {
  const td = join(dir, 'trials', id);
  mkdirSync(td, { recursive: true });
  writeFileSync(
    join(td, 'config.json'),
    JSON.stringify({ meta, model: { dModel: 32 }, accounting: { pTot: 4 * pAct, pAct, pSparse: 3 * pAct } }),
  );
  const horizons = H_TOKENS.map((tokens, k) => ({
    tokens,
    step: tokens / 1024,
    valLoss: losses[k],
    valBpb: losses[k] / 3,
    seconds: 10 * (k + 1),
  }));
  const last = horizons[horizons.length - 1];
  writeFileSync(
    join(td, 'result.json'),
    JSON.stringify({
      status: 'ok',
      valLoss: last.valLoss,
      valBpb: last.valBpb,
      tokens: last.tokens,
      seconds: 45,
      backend: 'wasm',
      native: false,
      threads: 1,
      horizons,
    }),
  );
}

/** Write the sweep (seeds 0..seeds-1); returns its folder, named "horizons". */
export function makeHorizonsFixture(seeds = 3, root = mkdtempSync(join(tmpdir(), 'horizons-'))): string {
  const dir = join(root, 'horizons');
  mkdirSync(join(dir, 'trials'), { recursive: true });
  writeFileSync(
    join(dir, 'sweep.json'),
    JSON.stringify({
      name: 'horizons',
      specHash: 'x',
      spec: {},
      created: '2026-11-27T10:00:00.000Z',
      updated: '2026-11-28T12:00:00.000Z',
      trials: [],
    }),
  );
  let n = 0;
  const id = () => `t${(n++).toString(16).padStart(16, '0')}`;
  for (let seed = 0; seed < seeds; seed++) {
    for (const budget of Object.keys(H_BUDGETS) as HBudget[]) {
      const { pAct } = H_BUDGETS[budget];
      for (const rho of H_RHOS) {
        writeTrial(
          dir,
          id(),
          { kind: 'allocation', variant: 'engram', seed, budget, rho, rhoActual: rho },
          pAct,
          H_TOKENS.map((_, k) => hLoss(budget, rho, k, seed)),
        );
      }
      writeTrial(
        dir,
        id(),
        { kind: 'allocation', variant: 'moe', seed, budget, rho: 1, rhoActual: 1 },
        pAct,
        H_TOKENS.map((_, k) => hLoss(budget, 1, k, seed) + 0.05),
      );
    }
  }
  return dir;
}
