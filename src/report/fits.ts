/**
 * fits.json as the report reads it (written by src/fit, `engram-sweep fit`). The report must work
 * before any fit exists, so a missing file is null and every field past the group key is
 * optional: a chart draws what is there (points always, curves and bands when fitted).
 * Shapes (DESIGN: fit --json): {kind, x, y, by, groups: [{key, n, ...}]}, one per kind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../contract/errors.js';
import type { Shape, WallsLike } from '../fit/index.js';

/** [lo, hi]; a null end is unbounded (bootstrap replicates ran off to infinity) */
export type Interval = [number | null, number | null];

export interface UShapeGroup {
  key: string;
  n: number;
  /** the curve without its horizon: the budget, or "<budget>/<variant>" */
  budget?: string;
  /** training tokens of this curve's horizon; null or absent without horizons */
  horizon?: number | null;
  tokensPerActive?: number | null;
  /** the shape classifier's word (fit/shape.ts); the report classifies again from the walls */
  shape?: Shape | string;
  /** dL0 = L(rho = 0) - L(best interior arm), dL1 = L(rho = 1) - L(best interior arm), paired by seed */
  walls?: WallsLike | null;
  /** the vertex where the shape is a U, else the best arm */
  rhoStar?: { value?: number | null; source?: string; interval?: Interval | null } | null;
  bestArm?: { x?: number; loss?: number; interval?: Interval | null } | null;
  /** seed means per rho: x, y (mean), n, se, fit */
  residuals?: { x: number; y: number; n?: number; se?: number | null; fit?: number }[];
  /** the fitted parabola's minimum, in rho, and its bootstrap interval */
  vertex?: number | null;
  interval?: Interval | null;
  vertexAkima?: number | null;
  /** L''(rho) */
  curvature?: number | null;
  pCurvaturePositive?: number | null;
  /** loss of pure MoE minus the lowest fitted loss (nats; positive = Engram helps) */
  gain?: number | null;
  gainInterval?: Interval | null;
  /** what the gain is measured against: the moe variant's trials, or the parabola at rho = 1 */
  reference?: { source?: string; x?: number; loss?: number; n?: number } | null;
  r2?: number | null;
  /** 'inside' | 'edge' (the interval leaves the sampled range) | 'outside' (so does the vertex) */
  edge?: string | boolean | null;
  converged?: boolean;
  reason?: string;
  /** L = a rho^2 + b rho + c (src/fit), or [c0, c1, c2] ascending */
  coefficients?: { a: number; b: number; c: number } | number[] | null;
}

export interface PowerLawGroup {
  key: string;
  n: number;
  /** the pure power law L = A M^-alpha */
  A?: number | null;
  alpha?: number | null;
  /** the saturating fit's floor, null unless the data determine it */
  E?: number | null;
  eReason?: string;
  /** L = intercept + slopePerDecade log10 M */
  slopePerDecade?: number | null;
  intercept?: number | null;
  intervals?: Record<string, Interval | null | undefined> | null;
  r2?: number | null;
  converged?: boolean;
  reason?: string;
  /** L = E + A M^-alpha, its own A and alpha */
  saturating?: { E?: number; A?: number; alpha?: number; determined?: boolean } | null;
}

export interface FitResult<G> {
  kind: string;
  x?: string;
  y?: string;
  by?: string | string[];
  groups: G[];
  /** Engram's slots to reach OverEncoding's best loss / OverEncoding's slots there (src/fit; ~0.33 in the paper) */
  slotMultiple?: unknown;
  /** ushape with horizons: per curve, rho*, dL0 and dL1 against log2(tokens) (src/fit/trend.ts) */
  trends?: TrendLike[];
  /** powerlaw of a memory sweep: per horizon, Engram means, slots / n-grams seen, the no-memory reference (src/fit/memory.ts) */
  memory?: MemoryLike;
}

export interface MemoryLike {
  /** per OverEncoding setting: the Engram slots that reach its best loss (interpolated on observed means, never extrapolated) */
  slotsToMatch?: { variant: string; loss: number; atSlots: number; engramSlots: number | null; where: string }[];
  horizons: {
    horizon: number | null;
    points: { slots: number; loss: number; slotsPerBigram?: number | null; slotsPerTrigram?: number | null }[];
    reference?: { mean: number; se: number | null; n: number } | null;
    coverage?: { bigrams: number; trigrams: number } | null;
  }[];
}

export interface TrendSlopeLike {
  slope?: number | null;
  interval?: Interval | null;
  method?: string;
}

export interface TrendLike {
  budget: string;
  seeds?: number;
  rhoStar?: TrendSlopeLike;
  dL0?: TrendSlopeLike;
  dL1?: TrendSlopeLike;
  points: {
    tokens: number;
    tokensPerActive?: number | null;
    rhoStar?: number | null;
    rhoStarSource?: string;
    rhoStarInterval?: Interval | null;
    shape?: string;
    dL0?: number | null;
    dL0Interval?: Interval | null;
    dL1?: number | null;
    dL1Interval?: Interval | null;
  }[];
}

export interface Fits {
  ushape?: FitResult<UShapeGroup>;
  powerlaw?: FitResult<PowerLawGroup>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A group key as one string: "d96", or {budget: "d96", variant: "engram"} -> "d96/engram". */
export function keyString(key: unknown): string {
  if (isObject(key)) return Object.values(key).map(String).join('/');
  if (Array.isArray(key)) return key.map(String).join('/');
  return String(key);
}

function fitResult(file: string, field: string, v: unknown): FitResult<never> {
  if (!isObject(v) || !Array.isArray(v.groups)) throw new InputError(file, 'needs {kind, groups: [...]}', field);
  const groups = v.groups.map((g, i) => {
    if (!isObject(g)) throw new InputError(file, 'each group must be an object', `${field}.groups[${i}]`);
    return { ...g, key: keyString(g.key) };
  });
  return { ...(v as object), kind: String(v.kind ?? field), groups } as FitResult<never>;
}

/**
 * Accepts what src/fit writes, {sweep, fits: [result, ...]}, and also a bare list of results,
 * {ushape, powerlaw}, or one result with its kind.
 */
export function normalizeFits(file: string, raw: unknown): Fits {
  const entries: [string, unknown][] = [];
  if (isObject(raw) && 'fits' in raw) {
    if (!Array.isArray(raw.fits)) throw new InputError(file, 'needs "fits": a list of fit results', 'fits');
    raw.fits.forEach((r, i) => entries.push([isObject(r) ? String(r.kind) : `[${i}]`, r]));
  } else if (Array.isArray(raw)) raw.forEach((r, i) => entries.push([isObject(r) ? String(r.kind) : `[${i}]`, r]));
  else if (isObject(raw) && 'groups' in raw) entries.push([String(raw.kind), raw]);
  else if (isObject(raw)) entries.push(...Object.entries(raw).filter(([k]) => k === 'ushape' || k === 'powerlaw'));
  else throw new InputError(file, 'must hold {ushape?, powerlaw?} fit results');
  const out: Fits = {};
  for (const [kind, v] of entries) {
    if (v == null) continue;
    if (kind === 'ushape') out.ushape = fitResult(file, kind, v);
    else if (kind === 'powerlaw') out.powerlaw = fitResult(file, kind, v);
  }
  return out;
}

/** results/<sweep>/fits.json, or null when the sweep has not been fitted yet. */
export function readFits(dir: string): Fits | null {
  const file = join(dir, 'fits.json');
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `malformed JSON: ${(e as Error).message}`);
  }
  return normalizeFits(file, raw);
}

/**
 * The group with this key. src/fit keys U-shape groups by budget ("<budget>/<variant>" for a
 * memory variant other than engram) and memory-law groups by variant.
 */
export function groupFor<G extends { key: string }>(fit: FitResult<G> | undefined, key: string): G | undefined {
  return fit?.groups.find((g) => g.key === key);
}

/** The curve a group belongs to: its budget field, else its key without "@<horizon>". */
export const curveOf = (g: UShapeGroup): string => g.budget ?? g.key.replace(/@[^@/]*$/, '');

/**
 * The group of a curve that speaks for it: the one keyed by the curve itself, else (a sweep with
 * horizons, keys "<curve>@<tokens>") the longest horizon, which is the trials' own valLoss.
 */
export function curveGroup(fit: FitResult<UShapeGroup> | undefined, curve: string): UShapeGroup | undefined {
  const exact = groupFor(fit, curve);
  if (exact) return exact;
  const mine = (fit?.groups ?? []).filter((g) => curveOf(g) === curve && typeof g.horizon === 'number');
  return mine.sort((a, b) => b.horizon! - a.horizon!)[0];
}

/** A finite number or null. */
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A [lo, hi] pair (either end may be null: unbounded), or null when there is none. */
export function interval(v: unknown): Interval | null {
  if (!Array.isArray(v) || v.length !== 2) return null;
  const iv: Interval = [num(v[0]), num(v[1])];
  return iv[0] === null && iv[1] === null ? null : iv;
}

/** The quadratic's coefficients as [c, b, a] of c + b x + a x^2, from either form. */
export function quadratic(v: unknown): [number, number, number] | null {
  if (Array.isArray(v)) return v.length === 3 && v.every((x) => num(x) !== null) ? [v[0], v[1], v[2]] : null;
  if (isObject(v) && num(v.a) !== null && num(v.b) !== null && num(v.c) !== null)
    return [v.c as number, v.b as number, v.a as number];
  return null;
}
