/** Akima interpolation and its argmin against known functions. */
import { describe, expect, it } from 'vitest';
import { akima, quadraticRoots } from '../../src/fit/akima.js';

const grid = (lo: number, hi: number, n: number) => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));

describe('akima', () => {
  it('reproduces a quadratic exactly on a uniform grid, so its argmin is the vertex', () => {
    const f = (x: number) => 0.3 * (x - 0.7) ** 2 + 3;
    const x = grid(0, 1, 9);
    const a = akima(x, x.map(f));
    for (const v of [0.01, 0.33, 0.61, 0.7, 0.93]) expect(a.at(v)).toBeCloseTo(f(v), 12);
    const m = a.argmin();
    expect(m.x).toBeCloseTo(0.7, 10);
    expect(m.y).toBeCloseTo(3, 12);
  });

  it('passes through the nodes and has a continuous first derivative there', () => {
    const x = [0, 0.25, 0.5, 0.625, 0.75, 0.8125, 0.875, 0.9375, 1];
    const y = [3.78, 3.75, 3.74, 3.745, 3.74, 3.742, 3.748, 3.76, 3.84];
    const a = akima(x, y);
    x.forEach((v, i) => expect(a.at(v)).toBeCloseTo(y[i], 14));
    const h = 1e-7;
    for (let i = 1; i < x.length - 1; i++) {
      const left = (a.at(x[i]) - a.at(x[i] - h)) / h;
      const right = (a.at(x[i] + h) - a.at(x[i])) / h;
      expect(Math.abs(left - right)).toBeLessThan(1e-4);
      expect(left).toBeCloseTo(a.t[i], 4);
    }
  });

  it('finds the minimum of cos near pi on an uneven grid, between the nodes', () => {
    const x = [2, 2.3, 2.6, 2.95, 3.2, 3.45, 3.8, 4.1, 4.4];
    const a = akima(x, x.map(Math.cos));
    const m = a.argmin();
    // the nearest node is 0.06 away; Akima's argmin is ten times closer
    expect(Math.abs(m.x - Math.PI)).toBeLessThan(0.006);
    expect(x).not.toContain(m.x);
  });

  it('puts the minimum of monotone data at its end', () => {
    const x = grid(0, 1, 5);
    expect(akima(x, [5, 4, 3.5, 3.2, 3.1]).argmin().x).toBe(1);
    expect(akima(x, [1, 2, 3, 4, 6]).argmin().x).toBe(0);
  });

  it('rejects unsorted x', () => {
    expect(() => akima([0, 1, 1], [1, 2, 3])).toThrow(/strictly increasing/);
  });
});

describe('quadraticRoots', () => {
  it('known roots, including the cancellation-prone and linear cases', () => {
    expect(quadraticRoots(1, -3, 2).sort()).toEqual([1, 2]);
    const r = quadraticRoots(1, -1e8, 1).sort((a, b) => a - b);
    expect(r[0]).toBeCloseTo(1e-8, 20);
    expect(r[1]).toBeCloseTo(1e8, 0);
    expect(quadraticRoots(0, 2, -1)).toEqual([0.5]);
    expect(quadraticRoots(1, 0, 1)).toEqual([]);
  });
});
