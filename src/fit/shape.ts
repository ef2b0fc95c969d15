/**
 * The one shape classifier (issue 12, item 2): what an allocation curve's two walls say, used by
 * fit's output, the report's headline, status and the quick sweep's printed answer. The walls are
 * dL0 = L(rho = 0) - L(best interior arm) and dL1 = L(rho = 1, Engram module kept) - L(best
 * interior arm), paired by seed, with 90% intervals (fit/walls.ts).
 *
 * Why walls and not the quadratic's curvature: a parabola through an L (a flat floor, then a
 * wall) or through three points of a monotone curve always has an interior vertex and positive
 * curvature, so P(curvature > 0) ~ 1 says nothing about a U. A U needs both ends to be worse than
 * some mix, beyond seed noise.
 *
 * Pure (no I/O, no fit internals): it reads fits.json groups as well as live fit results.
 */

export const SHAPES = ['U', 'rho = 0 best', 'rho = 1 best', 'no left wall', 'no right wall', 'inconclusive'] as const;
export type Shape = (typeof SHAPES)[number];

/** A wall as fits.json holds it; an interval end may be null (unbounded). */
export interface WallLike {
  estimate?: number | null;
  interval?: readonly (number | null)[] | null;
  n?: number;
  method?: string;
  x?: number;
  against?: number | null;
}

export interface WallsLike {
  left?: WallLike | null;
  right?: WallLike | null;
}

const lower = (w: WallLike | null | undefined) =>
  w?.interval && typeof w.interval[0] === 'number' ? w.interval[0] : null;
const upper = (w: WallLike | null | undefined) =>
  w?.interval && typeof w.interval[1] === 'number' ? w.interval[1] : null;
/** the end is worse than the best mix beyond noise */
const resolved = (w: WallLike | null | undefined) => (lower(w) ?? -Infinity) > 0;
/** the end beats the best mix beyond noise */
const beats = (w: WallLike | null | undefined) => (upper(w) ?? Infinity) < 0;

/**
 * "U": both walls' lower bounds above 0. "rho = 0 best" / "rho = 1 best": that wall's upper bound
 * below 0 (both: the end with the lower estimate). "no left wall" / "no right wall": one wall
 * resolved, the other not. "inconclusive" otherwise, also without walls or intervals.
 */
export function classifyShape(walls: WallsLike | null | undefined): Shape {
  const l = walls?.left;
  const r = walls?.right;
  if (resolved(l) && resolved(r)) return 'U';
  if (beats(l) && beats(r)) return (l!.estimate ?? 0) <= (r!.estimate ?? 0) ? 'rho = 0 best' : 'rho = 1 best';
  if (beats(l)) return 'rho = 0 best';
  if (beats(r)) return 'rho = 1 best';
  if (resolved(r)) return 'no left wall';
  if (resolved(l)) return 'no right wall';
  return 'inconclusive';
}

/** What each shape means, in a clause a sentence can carry. */
export const SHAPE_MEANING: Record<Shape, string> = {
  U: 'both walls resolved: a mix beats both rho = 0 and rho = 1',
  'rho = 0 best': 'rho = 0 (all memory) beats the best mix',
  'rho = 1 best': 'rho = 1 (all experts, 1-slot tables) beats the best mix',
  'no left wall': 'rho = 0 is within noise of the best mix, rho = 1 is worse',
  'no right wall': 'rho = 1 is within noise of the best mix, rho = 0 is worse',
  inconclusive: 'neither end is resolved against the best mix at 90%',
};

const sign = (v: number, d: number) => `${v >= 0 ? '+' : ''}${v.toFixed(d)}`;
const end = (v: number | null | undefined, d: number, inf: string) => (typeof v === 'number' ? v.toFixed(d) : inf);

/** "+0.0118 [-0.0004, 0.0240]"; "n/a" without an estimate. */
export function wallText(w: WallLike | null | undefined, digits = 4): string {
  if (!w || typeof w.estimate !== 'number') return 'n/a';
  const iv = w.interval
    ? ` [${end(w.interval[0], digits, '-inf')}, ${end(w.interval[1], digits, '+inf')}]`
    : ' [no interval]';
  return `${sign(w.estimate, digits)}${iv}`;
}

/** A fits.json U-shape group, as much of it as the line needs. */
export interface ShapeGroupLike {
  key: unknown;
  budget?: string | null;
  horizon?: number | null;
  walls?: WallsLike | null;
  shape?: string | null;
  rhoStar?: { value?: number | null; source?: string; interval?: readonly (number | null)[] | null } | null;
  vertexAkima?: number | null;
}

/** "2.10M" tokens. */
export const tokensText = (t: number) =>
  t >= 1e9
    ? `${(t / 1e9).toFixed(2)}B`
    : t >= 1e6
      ? `${(t / 1e6).toFixed(2)}M`
      : t >= 1e3
        ? `${(t / 1e3).toFixed(1)}k`
        : String(t);

/**
 * The one-line answer for one group, e.g. "d96: no left wall (dL0 +0.0118 [-0.0004, 0.0240],
 * dL1 +0.0600 [0.0470, 0.0730] nats); rho* = 0.50 (best arm; Akima 0.52)". For status, the
 * quick sweep's last line and fit's output. The shape is classified here from the walls.
 */
export function shapeLine(g: ShapeGroupLike): string {
  const who = `${g.budget ?? String(g.key)}${typeof g.horizon === 'number' ? ` @ ${tokensText(g.horizon)} tokens` : ''}`;
  if (!g.walls) return `${who}: shape not classified (no walls in this fit: rerun engram-sweep fit)`;
  const shape = classifyShape(g.walls);
  const l = g.walls.left;
  const n = l?.n ?? g.walls.right?.n;
  const how = [n !== undefined ? `${n} seed${n === 1 ? '' : 's'}` : '', l?.method ?? ''].filter(Boolean).join(', ');
  // the walls are at the grid's ends; say so where those are not rho = 0 and 1 (realised 1 may be 0.999)
  const [lx, rx] = [g.walls.left?.x, g.walls.right?.x];
  const ends =
    (typeof lx === 'number' && lx > 0.01) || (typeof rx === 'number' && rx < 0.99)
      ? `, ends at rho = ${lx?.toFixed(3)} and ${rx?.toFixed(3)}`
      : '';
  const walls = `dL0 ${wallText(g.walls.left)}, dL1 ${wallText(g.walls.right)} nats${how ? `, ${how}` : ''}${ends}`;
  const r = g.rhoStar;
  const iv = r?.interval ? ` [${end(r.interval[0], 2, '-inf')}, ${end(r.interval[1], 2, '+inf')}]` : '';
  const akima =
    typeof g.vertexAkima === 'number' && r?.source !== 'vertex' ? `; Akima ${g.vertexAkima.toFixed(2)}` : '';
  const star = typeof r?.value === 'number' ? `; rho* = ${r.value.toFixed(2)}${iv} (${r.source ?? '?'}${akima})` : '';
  return `${who}: ${shape} (${walls})${star}`;
}

/**
 * The sweep's answer in one line (the quick sweep's last line): each budget's Engram curve at
 * its longest horizon, "; "-joined; other memory variants ("<budget>/<variant>") are left to the
 * report.
 */
export function answerLine(groups: readonly ShapeGroupLike[]): string | null {
  const last = new Map<string, ShapeGroupLike>();
  for (const g of groups) {
    const curve = g.budget ?? String(g.key);
    if (curve.includes('/')) continue;
    const seen = last.get(curve);
    if (!seen || (g.horizon ?? 0) > (seen.horizon ?? 0)) last.set(curve, g);
  }
  return last.size ? [...last.values()].map(shapeLine).join('; ') : null;
}
