/**
 * The arms of an allocation sweep seen seed by seed: at each rho, each seed's loss. A sweep uses
 * common random numbers (a seed's init and batch order are the same at every rho), so the
 * differences between arms are compared within a seed, and resampling draws whole seeds (all of a
 * seed's arms together), never one arm's trials alone.
 *
 * Every statistic here takes a seed weighting w (seed -> weight): all ones for the data, the
 * draw counts of a bootstrap resample, or one seed alone for per-seed values. So the point
 * estimate, the bootstrap and the paired-t interval run the same code.
 */
import type { Point } from './bootstrap.js';
import { Rng } from '../util/rng.js';

export type SeedWeights = Map<number, number>;

export interface Arm {
  x: number;
  /** seed -> loss (a seed listed twice at one rho: their mean) */
  bySeed: Map<number, number>;
}

/**
 * Points -> arms, sorted by x. A point without seed labels (a table with no seed column) pairs
 * its k-th value with the k-th of every other point, the order the table lists them in.
 */
export function armsOf(points: readonly Point[]): Arm[] {
  return [...points]
    .sort((a, b) => a.x - b.x)
    .map((p) => {
      const sums = new Map<number, { s: number; n: number }>();
      p.ys.forEach((y, k) => {
        const seed = p.seeds?.[k] ?? k;
        const e = sums.get(seed) ?? { s: 0, n: 0 };
        sums.set(seed, { s: e.s + y, n: e.n + 1 });
      });
      return { x: p.x, bySeed: new Map([...sums].map(([seed, e]) => [seed, e.s / e.n])) };
    });
}

/** Every seed that appears at some arm, sorted. */
export const seedsOf = (arms: readonly Arm[]): number[] =>
  [...new Set(arms.flatMap((a) => [...a.bySeed.keys()]))].sort((a, b) => a - b);

export const ones = (seeds: readonly number[]): SeedWeights => new Map(seeds.map((s) => [s, 1]));

/** The arm's weighted seed mean; NaN when no weighted seed ran at this arm. */
export function armMean(arm: Arm, w: SeedWeights): number {
  let s = 0;
  let n = 0;
  for (const [seed, c] of w) {
    const y = arm.bySeed.get(seed);
    if (y !== undefined && c > 0) {
      s += c * y;
      n += c;
    }
  }
  return n > 0 ? s / n : NaN;
}

/** Index of the lowest weighted mean among arms[from..to) (the first on ties); -1 if none has seeds. */
export function argminArm(arms: readonly Arm[], w: SeedWeights, from = 0, to = arms.length): number {
  let best = -1;
  let bestY = Infinity;
  for (let i = from; i < to; i++) {
    const y = armMean(arms[i], w);
    if (y < bestY) {
      best = i;
      bestY = y;
    }
  }
  return best;
}

/** The best interior arm (neither the lowest nor the highest rho); -1 without one. */
export const bestInterior = (arms: readonly Arm[], w: SeedWeights) =>
  arms.length < 3 ? -1 : argminArm(arms, w, 1, arms.length - 1);

/** Weighted mean over the seeds that ran both arms of L(end) - L(other); NaN if none did. */
export function pairedDifference(end: Arm, other: Arm, w: SeedWeights): number {
  let s = 0;
  let n = 0;
  for (const [seed, c] of w) {
    const a = end.bySeed.get(seed);
    const b = other.bySeed.get(seed);
    if (a !== undefined && b !== undefined && c > 0) {
      s += c * (a - b);
      n += c;
    }
  }
  return n > 0 ? s / n : NaN;
}

/** Seeds that ran both arms. */
export const pairedSeeds = (a: Arm, b: Arm): number[] => [...a.bySeed.keys()].filter((s) => b.bySeed.has(s));

/** B bootstrap resamples of the seeds: each draws |seeds| seeds with replacement, as counts. */
export function seedResamples(seeds: readonly number[], B: number, seed: number, stream: string): SeedWeights[] {
  const rng = Rng.named(seed, `seeds:${stream}`);
  return Array.from({ length: B }, () => {
    const w: SeedWeights = new Map();
    for (let k = 0; k < seeds.length; k++) {
      const s = seeds[rng.int(seeds.length)];
      w.set(s, (w.get(s) ?? 0) + 1);
    }
    return w;
  });
}
