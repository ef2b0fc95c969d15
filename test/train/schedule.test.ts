/**
 * learningRate, the cosine schedule of trials without horizons: linear warmup to lr, then a
 * half cosine from lr down to minLrRatio * lr. Expected values are worked out by hand here (the
 * cosine at quarter points, its midpoint), not by re-running the formula.
 * Convention pinned down: step s in warmup trains at lr (s + 1) / warmup, so the last warmup step
 * is at lr; the cosine reaches its floor at step = steps, i.e. as training ends (steps 0..steps-1
 * are trained), the same convention as the WSD cooldown's "reached one step after the last".
 */
import { describe, expect, it } from 'vitest';
import { learningRate } from '../../src/train/schedule.js';

const o = { lr: 1e-3, warmup: 10, steps: 110, minLrRatio: 0.1 }; // cosine over 100 steps, floor 1e-4
const at = (step: number, over: Partial<typeof o> = {}) => learningRate(step, { ...o, ...over });
const close = (got: number, want: number) =>
  expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(1e-12 * Math.abs(want));

describe('learningRate (cosine)', () => {
  it('warms up linearly: lr (step + 1) / warmup, reaching lr at the last warmup step', () => {
    close(at(0), 1e-4);
    close(at(4), 5e-4);
    close(at(9), 1e-3);
  });

  it('decays on a half cosine from lr to minLrRatio lr', () => {
    close(at(10), 1e-3); // progress 0
    close(at(35), 1e-4 + (9e-4 * (2 + Math.SQRT2)) / 4); // progress 1/4: (1 + cos(pi/4)) / 2 = (2 + sqrt 2) / 4
    close(at(60), 5.5e-4); // progress 1/2: the mean of lr and the floor
    close(at(85), 1e-4 + (9e-4 * (2 - Math.SQRT2)) / 4); // progress 3/4
  });

  it('ends at minLrRatio lr as training ends, one cosine increment above it on the last trained step', () => {
    close(at(110), 1e-4);
    // progress 99/100: (1 + cos(0.99 pi)) / 2 = sin^2(pi / 200)
    close(at(109), 1e-4 + 9e-4 * Math.sin(Math.PI / 200) ** 2);
    close(at(500), 1e-4); // held at the floor past the end
  });

  it('is non-increasing after warmup and never below the floor', () => {
    for (let s = 10; s < 200; s++) {
      expect(at(s + 1)).toBeLessThanOrEqual(at(s));
      expect(at(s)).toBeGreaterThanOrEqual(1e-4 * (1 - 1e-12));
    }
  });

  it('edge settings: no warmup, a constant rate (minLrRatio 1), a floor of 0', () => {
    close(at(0, { warmup: 0 }), 1e-3); // the cosine starts at step 0
    close(at(55, { warmup: 0 }), 5.5e-4); // progress 55 / 110 = 1/2
    for (const s of [10, 60, 109, 110, 300]) close(at(s, { minLrRatio: 1 }), 1e-3);
    close(at(60, { minLrRatio: 0 }), 5e-4);
    expect(at(110, { minLrRatio: 0 })).toBeLessThan(1e-18);
  });
});
