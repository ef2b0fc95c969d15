/**
 * The one shape classifier, known answers: its rules on given intervals, then whole fits of
 * synthetic sweeps whose shape is known by construction (a clear U, an L with no left wall,
 * monotone curves, noise only), and the issue-12 case that the curvature test got wrong: a
 * parabola through three points of a monotone curve has an interior vertex and positive
 * curvature, and must still not be called a U.
 */
import { describe, expect, it } from 'vitest';
import { fitAllocation } from '../../src/fit/allocation.js';
import { gaussian, type Point } from '../../src/fit/bootstrap.js';
import { answerLine, classifyShape, shapeLine } from '../../src/fit/shape.js';
import { Rng } from '../../src/util/rng.js';

const wall = (lo: number | null, hi: number | null, estimate = ((lo ?? 0) + (hi ?? 0)) / 2) => ({
  estimate,
  interval: [lo, hi],
});

describe('classifyShape rules', () => {
  it("names each shape from the two walls' 90% intervals", () => {
    expect(classifyShape({ left: wall(0.001, 0.02), right: wall(0.03, 0.09) })).toBe('U');
    expect(classifyShape({ left: wall(-0.004, 0.02), right: wall(0.05, 0.09) })).toBe('no left wall');
    expect(classifyShape({ left: wall(0.01, 0.03), right: wall(-0.01, 0.02) })).toBe('no right wall');
    expect(classifyShape({ left: wall(-0.03, -0.01), right: wall(0.1, 0.2) })).toBe('rho = 0 best');
    expect(classifyShape({ left: wall(0.1, 0.2), right: wall(-0.03, -0.001) })).toBe('rho = 1 best');
    expect(classifyShape({ left: wall(-0.01, 0.01), right: wall(-0.02, 0.03) })).toBe('inconclusive');
    // an inverted U: both ends beat the middle; the lower end wins
    expect(classifyShape({ left: wall(-0.05, -0.03), right: wall(-0.02, -0.01) })).toBe('rho = 0 best');
    expect(classifyShape({ left: wall(-0.02, -0.01), right: wall(-0.05, -0.03) })).toBe('rho = 1 best');
  });

  it('without intervals (one seed) or walls nothing is resolved', () => {
    expect(classifyShape({ left: { estimate: 0.1, interval: null }, right: { estimate: 0.1, interval: null } })).toBe(
      'inconclusive',
    );
    expect(classifyShape(null)).toBe('inconclusive');
    // an unbounded end resolves nothing on its side
    expect(classifyShape({ left: wall(null, 0.2), right: wall(0.01, null) })).toBe('no left wall');
  });
});

const RHO = [0, 0.25, 0.5, 0.75, 1];

/** A sweep of `seeds` seeds: each seed shifts every arm alike (common random numbers), plus trial noise. */
function sweep(f: (rho: number) => number, seeds: number, noise: number, seed: number, xs = RHO): Point[] {
  const rng = new Rng(seed);
  const effect = Array.from({ length: seeds }, () => 0.02 * gaussian(rng));
  return xs.map((x) => ({
    x,
    ys: effect.map((e) => f(x) + e + noise * gaussian(rng)),
    seeds: effect.map((_, s) => s),
  }));
}

const fitCurve = (points: Point[]) => fitAllocation({ key: 'b', points }, { resamples: 1000 }).group;

describe('known shapes, fitted', () => {
  it('a clear U (5 seeds, bootstrap): "U", and rho* is the vertex', () => {
    const g = fitCurve(sweep((r) => 3.8 + 0.3 * (r - 0.6) ** 2, 5, 0.004, 1));
    expect(g.shape).toBe('U');
    expect(g.walls.left.method).toBe('bootstrap');
    expect(g.rhoStar.source).toBe('vertex');
    expect(g.rhoStar.value).toBeCloseTo(0.6, 1);
    expect(g.rhoStar.interval).toEqual(g.interval);
  });

  it('an L, flat from 0 to 0.5 then a wall: "no left wall", rho* the best arm with Akima beside', () => {
    const g = fitCurve(sweep((r) => 3.8 + (r > 0.5 ? 0.4 * (r - 0.5) ** 2 * 4 : 0), 5, 0.004, 2));
    expect(g.shape).toBe('no left wall');
    expect(g.walls.right.interval![0]!).toBeGreaterThan(0);
    expect(g.rhoStar.source).toBe('best arm');
    expect([0, 0.25, 0.5]).toContain(g.rhoStar.value);
    // the parabola through an L is convex with an interior vertex: not what decides the shape
    expect(g.pCurvaturePositive!).toBeGreaterThan(0.95);
  });

  it('monotone decreasing in rho: "rho = 1 best"; increasing: "rho = 0 best"', () => {
    const down = fitCurve(sweep((r) => 3.9 - 0.1 * r, 4, 0.003, 3));
    expect(down.shape).toBe('rho = 1 best');
    expect(down.walls.right.method).toBe('paired-t');
    expect(down.rhoStar).toMatchObject({ value: 1, source: 'best arm' });
    const up = fitCurve(sweep((r) => 3.8 + 0.1 * r, 4, 0.003, 4));
    expect(up.shape).toBe('rho = 0 best');
    expect(up.rhoStar).toMatchObject({ value: 0, source: 'best arm' });
  });

  it('noise only: "inconclusive"', () => {
    const g = fitCurve(sweep(() => 3.8, 5, 0.004, 5));
    expect(g.shape).toBe('inconclusive');
    expect(g.rhoStar.source).toBe('best arm');
  });

  it('issue 12: three arms where rho = 0 wins in every seed are "rho = 0 best", never a U', () => {
    // the seed means the issue reports at 2 M tokens: 3.867 / 3.887 / 4.056
    const points = [
      { x: 0, ys: [3.8662, 3.8671, 3.8677], seeds: [0, 1, 2] },
      { x: 0.5, ys: [3.8859, 3.8868, 3.8883], seeds: [0, 1, 2] },
      { x: 1, ys: [4.0501, 4.0566, 4.0613], seeds: [0, 1, 2] },
    ];
    const g = fitCurve(points);
    // what the curvature test saw: an interior vertex, convex in every resample
    expect(g.vertex!).toBeGreaterThan(0.1);
    expect(g.vertex!).toBeLessThan(0.3);
    expect(g.pCurvaturePositive).toBe(1);
    expect(g.shape).toBe('rho = 0 best');
    expect(g.walls.left.estimate).toBeCloseTo(-0.02, 4);
    expect(g.rhoStar).toEqual({ value: 0, source: 'best arm', interval: [0, 0] });
  });
});

describe('the one-line answer', () => {
  const g = {
    key: 'd96@2097152',
    budget: 'd96',
    horizon: 2097152,
    walls: {
      left: { estimate: 0.0118, interval: [-0.0004, 0.024], n: 5, method: 'bootstrap' },
      right: { estimate: 0.06, interval: [0.047, 0.073], n: 5, method: 'bootstrap' },
    },
    rhoStar: { value: 0.5, source: 'best arm', interval: [0.25, 0.5] },
    vertexAkima: 0.52,
  };

  it('shapeLine: shape, walls, seeds, method, rho* and its source', () => {
    expect(shapeLine(g)).toBe(
      'd96 @ 2.10M tokens: no left wall (dL0 +0.0118 [-0.0004, 0.0240], dL1 +0.0600 [0.0470, 0.0730] nats, 5 seeds, bootstrap); rho* = 0.50 [0.25, 0.50] (best arm; Akima 0.52)',
    );
    expect(shapeLine({ key: 'd96' })).toBe('d96: shape not classified (no walls in this fit: rerun engram-sweep fit)');
    // a grid without rho = 0 and 1: the walls are at its ends, and the line says where
    const inner = { ...g, walls: { left: { ...g.walls.left, x: 0.25 }, right: { ...g.walls.right, x: 0.875 } } };
    expect(shapeLine(inner)).toMatch(/nats, 5 seeds, bootstrap, ends at rho = 0\.250 and 0\.875\)/);
  });

  it("answerLine: each budget's Engram curve at its longest horizon", () => {
    const short = { ...g, key: 'd96@1048576', horizon: 1048576, walls: { left: g.walls.right, right: g.walls.right } };
    const oe = { ...g, key: 'd96/overencoding@2097152', budget: 'd96/overencoding' };
    expect(answerLine([short, g, oe])).toBe(shapeLine(g));
    expect(answerLine([])).toBeNull();
  });
});
