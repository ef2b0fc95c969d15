/**
 * Akima (1970) interpolation and its argmin: the non-parametric optimum beside the quadratic
 * vertex (fit/ushape.ts). Akima rather than a monotone cubic (Fritsch-Carlson / PCHIP) because a
 * monotone cubic sets the slope to zero at every local extremum of the data, so its minimum always
 * falls on a data point; Akima's slopes are local weighted means of the neighbouring secants,
 * so its minimum can fall between points, and it does not overshoot the way a natural spline
 * does near a steep end (the rho = 1 jump). On a uniform grid it reproduces a quadratic exactly.
 */

export interface Akima {
  x: readonly number[];
  y: readonly number[];
  /** slope at each node */
  t: Float64Array;
  at(v: number): number;
  argmin(): { x: number; y: number };
}

/**
 * Node slopes: t_i = (w1 m_{i-1} + w2 m_i) / (w1 + w2), w1 = |m_{i+1} - m_i|, w2 = |m_{i-1} -
 * m_{i-2}|, with m the secant slopes, extended two each side by linear extrapolation (Akima's end
 * rule); the plain mean of m_{i-1} and m_i when both weights vanish.
 */
export function akimaSlopes(x: readonly number[], y: readonly number[]): Float64Array {
  const n = x.length;
  const m = new Float64Array(n + 3); // m[k + 2] = secant k, k = -2 .. n
  for (let k = 0; k < n - 1; k++) m[k + 2] = (y[k + 1] - y[k]) / (x[k + 1] - x[k]);
  if (n === 2) {
    return Float64Array.of(m[2], m[2]);
  }
  m[1] = 2 * m[2] - m[3];
  m[0] = 2 * m[1] - m[2];
  m[n + 1] = 2 * m[n] - m[n - 1];
  m[n + 2] = 2 * m[n + 1] - m[n];
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const mm2 = m[i];
    const mm1 = m[i + 1];
    const m0 = m[i + 2];
    const mp1 = m[i + 3];
    const w1 = Math.abs(mp1 - m0);
    const w2 = Math.abs(mm1 - mm2);
    t[i] = w1 + w2 === 0 ? (mm1 + m0) / 2 : (w1 * mm1 + w2 * m0) / (w1 + w2);
  }
  return t;
}

/** Interval index k with x[k] <= v <= x[k + 1] (clamped to the ends). */
function segment(x: readonly number[], v: number): number {
  let lo = 0;
  let hi = x.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (x[mid] <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Cubic Hermite coefficients of segment k: y_k + t_k s + c2 s^2 + c3 s^3, s = v - x_k. */
function coefficients(x: readonly number[], y: readonly number[], t: Float64Array, k: number) {
  const h = x[k + 1] - x[k];
  const m = (y[k + 1] - y[k]) / h;
  return { h, c2: (3 * m - 2 * t[k] - t[k + 1]) / h, c3: (t[k] + t[k + 1] - 2 * m) / (h * h) };
}

/** Akima interpolant through (x, y); x strictly increasing, at least two points. */
export function akima(x: readonly number[], y: readonly number[]): Akima {
  if (x.length < 2 || x.length !== y.length) throw new Error('akima: needs at least two points and equal lengths');
  for (let i = 1; i < x.length; i++) if (!(x[i] > x[i - 1])) throw new Error('akima: x must be strictly increasing');
  const t = akimaSlopes(x, y);
  const at = (v: number) => {
    const k = segment(x, v);
    const { c2, c3 } = coefficients(x, y, t, k);
    const s = v - x[k];
    return y[k] + s * (t[k] + s * (c2 + s * c3));
  };
  const argmin = () => {
    let best = { x: x[0], y: y[0] };
    const consider = (v: number) => {
      const f = at(v);
      if (f < best.y) best = { x: v, y: f };
    };
    for (let k = 0; k < x.length - 1; k++) {
      consider(x[k + 1]);
      // interior critical points: t_k + 2 c2 s + 3 c3 s^2 = 0 with 0 < s < h
      const { h, c2, c3 } = coefficients(x, y, t, k);
      for (const s of quadraticRoots(3 * c3, 2 * c2, t[k])) if (s > 0 && s < h) consider(x[k] + s);
    }
    return best;
  };
  return { x, y, t, at, argmin };
}

/** Real roots of a s^2 + b s + c (linear when a is negligible), numerically stable form. */
export function quadraticRoots(a: number, b: number, c: number): number[] {
  const scale = Math.max(Math.abs(a), Math.abs(b), Math.abs(c));
  if (scale === 0) return [];
  if (Math.abs(a) <= 1e-14 * scale) return b === 0 ? [] : [-c / b];
  const disc = b * b - 4 * a * c;
  if (disc < 0) return [];
  const q = -0.5 * (b + Math.sign(b || 1) * Math.sqrt(disc));
  const roots = [q / a];
  if (q !== 0) roots.push(c / q);
  return roots;
}
