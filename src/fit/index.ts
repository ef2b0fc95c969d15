/**
 * fit/: the allocation curve per (budget, horizon) (vertex + bootstrap interval, the two walls
 * and the shape they imply, rho*, gain over pure MoE), its trend across horizons, and the memory
 * law in slots (+ intervals, and Engram's slot multiple against OverEncoding). DESIGN: fit --json
 * is {kind, x, y, by, groups: [{key, n, ...}]} (ushape adds trends: [...] with horizons); a
 * results folder gets fits.json with one such object per kind its trials allow.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../contract/errors.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { percentileInterval, type Interval } from './bootstrap.js';
import { fitPowerlaw, type PowerlawGroup, type PowerlawOptions, type PowerlawReplicates } from './powerlaw.js';
import { sweepDatasets, type ColumnChoice, type Dataset, type FitKind } from './source.js';
import { fitAllocation, type AllocationGroup } from './allocation.js';
import { fitTrends, type Trend } from './trend.js';
import { readHorizonRows, readHorizons } from './horizons.js';
import { readTrialConfig } from '../contract/config-file.js';
import { trialDir } from '../contract/files.js';
import { fitMemory, type MemoryFit, type MemoryRow, type NgramCoverage } from './memory.js';
import type { UshapeOptions } from './ushape.js';

export { fitUshape, fitQuadratic, type UshapeGroup } from './ushape.js';
export { fitAllocation, type AllocationGroup, type RhoStar } from './allocation.js';
export { fitWalls, type Wall, type Walls, type BestArm } from './walls.js';
export { fitTrends, type Trend, type TrendPoint, type TrendSlope } from './trend.js';
export {
  answerLine,
  classifyShape,
  shapeLine,
  wallText,
  tokensText,
  SHAPES,
  SHAPE_MEANING,
  type Shape,
  type ShapeGroupLike,
  type WallLike,
  type WallsLike,
} from './shape.js';
export { readHorizonRows, expandHorizons, type HorizonRow } from './horizons.js';
export { fitPowerlaw, type PowerlawGroup } from './powerlaw.js';
export { akima } from './akima.js';
export {
  fitMemory,
  memoryLines,
  slotsAtLoss,
  type MemoryFit,
  type MemoryRow,
  type MemoryHorizon,
  type NgramCoverage,
  type SlotsToMatch,
} from './memory.js';
export { lm, multiStart, HUBER_DELTA } from './robust.js';
export { tableDataset, sweepDatasets, isFolder, FIT_KINDS, type Dataset, type FitKind } from './source.js';

/**
 * slotMultiple: how many slots Engram needs, as a multiple of OverEncoding's, to reach
 * OverEncoding's best loss. With L_OE the lowest OverEncoding seed mean, observed at M_OE slots,
 * and Engram's power law L = A M^-alpha solved for L_OE, M_E = (A / L_OE)^(1 / alpha):
 * slotMultiple = M_E / M_OE. Below 1 means Engram needs fewer slots; the paper's "~3x fewer"
 * is slotMultiple ~ 0.33. The interval pairs each Engram resample with an OverEncoding resample.
 */
export interface SlotMultiple {
  value: number | null;
  interval: Interval | null;
  overencodingLoss: number;
  overencodingSlots: number;
  engramSlots: number | null;
  /** M_E outside Engram's sampled slot range: the value rests on the fit's extrapolation */
  extrapolated: boolean;
}

export interface FitResult {
  kind: FitKind;
  x: string;
  y: string;
  by: string | null;
  groups: (AllocationGroup | PowerlawGroup)[];
  slotMultiple?: SlotMultiple;
  /** ushape with horizons: per curve, rho*, dL0 and dL1 against log2(tokens) */
  trends?: Trend[];
  /**
   * powerlaw of a results folder: per horizon the Engram slope and where it stops falling, the
   * no-memory reference, slots to match each OverEncoding setting (fit/memory.ts)
   */
  memory?: MemoryFit;
}

export type FitOptions = UshapeOptions & PowerlawOptions;

const slotsAt = (A: number, alpha: number, loss: number) => (alpha > 0 ? (A / loss) ** (1 / alpha) : NaN);

export function slotMultiple(
  engram: { group: PowerlawGroup; replicates: PowerlawReplicates | null },
  oe: { group: PowerlawGroup; replicates: PowerlawReplicates | null },
  level = 0.9,
): SlotMultiple {
  const best = oe.group.residuals.reduce((a, b) => (b.y < a.y ? b : a));
  const mE = slotsAt(engram.group.A, engram.group.alpha, best.y);
  const er = engram.replicates;
  const or = oe.replicates;
  let interval: Interval | null = null;
  if (er && or) {
    const B = Math.min(er.A.length, or.A.length);
    const v = Array.from({ length: B }, (_, b) => slotsAt(er.A[b], er.alpha[b], or.bestY[b]) / or.bestX[b]);
    interval = percentileInterval(v, level);
  }
  const xs = engram.group.residuals.map((r) => r.x);
  return {
    value: Number.isFinite(mE) ? mE / best.x : null,
    interval,
    overencodingLoss: best.y,
    overencodingSlots: best.x,
    engramSlots: Number.isFinite(mE) ? mE : null,
    extrapolated: !(mE >= Math.min(...xs) && mE <= Math.max(...xs)),
  };
}

/** Fit every series of a dataset; bad shapes (too few x values) are input errors naming the group. */
export function fitDataset(ds: Dataset, opts: FitOptions = {}): FitResult {
  const need = ds.kind === 'ushape' ? 3 : 2;
  for (const s of ds.series) {
    if (s.points.length < need) {
      const what = ds.kind === 'ushape' ? 'a quadratic needs at least 3' : 'a power law needs at least 2';
      const at = ds.by ? `${ds.by} ${s.key}: ` : '';
      throw new InputError(
        ds.where,
        `${at}${s.points.length} distinct ${ds.x} value(s) (${s.points.map((p) => p.x).join(', ')}); ${what}`,
      );
    }
  }
  const head = { kind: ds.kind, x: ds.x, y: ds.y, by: ds.by };
  if (ds.kind === 'ushape') {
    const fitted = ds.series.map((s) => fitAllocation(s, opts));
    const trends = fitTrends(fitted, opts);
    return { ...head, groups: fitted.map((f) => f.group), ...(trends.length ? { trends } : {}) };
  }
  const fits = ds.series.map((s) => fitPowerlaw(s, opts));
  const result: FitResult = { ...head, groups: fits.map((f) => f.group) };
  const e = fits.find((f) => f.group.key === 'engram');
  const o = fits.find((f) => f.group.key === 'overencoding');
  if (e && o) result.slotMultiple = slotMultiple(e, o, opts.level);
  return result;
}

/** fits.json of a results folder: the sweep's name and one fit per kind. */
export interface FitsFile {
  sweep: string;
  fits: FitResult[];
}

/**
 * Fit a results folder (both kinds as its trials allow, or those asked for) and write
 * <dir>/fits.json atomically, after every fit succeeded. Fits of other kinds already in
 * fits.json are kept when only some kinds are refitted.
 */
export function fitSweep(
  dir: string,
  opts: FitOptions & { kinds?: FitKind[]; columns?: ColumnChoice; coverage?: NgramCoverage[] } = {},
): FitResult[] {
  const results = sweepDatasets(dir, opts.kinds ?? null, opts.columns).map((ds) => fitDataset(ds, opts));
  const power = results.find((r) => r.kind === 'powerlaw');
  const file = join(dir, 'fits.json');
  if (power && power.x === 'slots' && power.y === 'valLoss')
    power.memory = fitMemory(memoryRows(dir), { ...opts, coverage: opts.coverage ?? cachedCoverage(file) });
  let kept: FitResult[] = [];
  if (opts.kinds && existsSync(file)) {
    try {
      kept = (JSON.parse(readFileSync(file, 'utf8')) as FitsFile).fits.filter(
        (f) => !results.some((r) => r.kind === f.kind),
      );
    } catch {
      kept = []; // an unreadable old fits.json is replaced
    }
  }
  const out: FitsFile = { sweep: basename(resolve(dir)), fits: [...kept, ...results] };
  writeJsonAtomic(file, out);
  return results;
}

/** A results folder's finished memory trials, one row per (trial, horizon), for fitMemory. */
export function memoryRows(dir: string): MemoryRow[] {
  return readHorizonRows(dir)
    .filter((r) => r.kind === 'memory' && r.status === 'ok' && r.valLoss !== null)
    .map((r) => ({
      variant: r.variant,
      seed: r.seed,
      slots: r.slots,
      valLoss: r.valLoss as number,
      horizon: r.horizon,
    }));
}

/** The n-gram counts a previous fits.json holds (fits[powerlaw].memory.horizons[].coverage), or undefined. */
export function cachedCoverage(file: string): NgramCoverage[] | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const old = (JSON.parse(readFileSync(file, 'utf8')) as FitsFile).fits.find((f) => f.kind === 'powerlaw')?.memory;
    const c = old?.horizons.map((h) => h.coverage).filter((v): v is NgramCoverage => !!v) ?? [];
    return c.length ? c : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The n-gram counts a refit of <dir> needs: the ones cached in its fits.json when they cover every
 * horizon its memory trials have, else counted again (memoryCoverage); undefined without
 * Engram memory trials.
 */
export async function coverageFor(
  dir: string,
  log: (l: string) => void = () => {},
): Promise<NgramCoverage[] | undefined> {
  const rows = memoryRows(dir).filter((r) => r.variant === 'engram');
  if (rows.length === 0) return undefined;
  const cached = cachedCoverage(join(dir, 'fits.json'));
  if (cached && rows.every((r) => cached.some((c) => c.horizon === r.horizon))) return cached;
  return memoryCoverage(dir, log);
}

/**
 * Distinct compressed n-grams seen per horizon of a memory sweep, the mean over the Engram trials'
 * seeds (batch order depends on the seed, not on the slots): replays each seed's batch order up to
 * the horizon's step (result.json horizons[].step, else the trial's train.steps). Loads the corpus
 * and tokenizer; pass the result to fitSweep as opts.coverage (it is then cached in fits.json).
 */
export async function memoryCoverage(dir: string, log: (l: string) => void = () => {}): Promise<NgramCoverage[]> {
  const rows = readHorizonRows(dir).filter((r) => r.kind === 'memory' && r.status === 'ok' && r.variant === 'engram');
  const bySeed = new Map<number, string>();
  for (const r of rows) if (!bySeed.has(r.seed)) bySeed.set(r.seed, r.id);
  const per = new Map<number | null, { bigrams: number[]; trigrams: number[] }>();
  // imported here: the counts replay the trainer's batch order (train/context.ts loads the model code)
  const { parseTrial } = await import('../train/config.js');
  const { trialNgramsSeen } = await import('../train/coverage.js');
  for (const id of bySeed.values()) {
    const file = readTrialConfig(trialDir(dir, id));
    if (!file) continue;
    const { stats: _stats, ...data } = (file.data ?? {}) as Record<string, unknown>; // config.json adds the data's stats
    const c = parseTrial({ data, train: file.train }, join(trialDir(dir, id), 'config.json'));
    const hs = readHorizons(dir, id);
    const marks: { horizon: number | null; step: number }[] = hs
      ? hs.map((h) => ({ horizon: h.tokens, step: h.step }))
      : [{ horizon: rows.find((r) => r.id === id)!.horizon, step: c.train.steps }];
    const counts = await trialNgramsSeen(
      c,
      marks.map((m) => m.step),
      log,
    );
    marks.forEach((m, i) => {
      const e = per.get(m.horizon) ?? { bigrams: [], trigrams: [] };
      e.bigrams.push(counts[i].bigrams);
      e.trigrams.push(counts[i].trigrams);
      per.set(m.horizon, e);
    });
  }
  const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return [...per].map(([horizon, e]) => ({ horizon, bigrams: avg(e.bigrams), trigrams: avg(e.trigrams) }));
}
