/**
 * The memory sweep beyond the power law (issue 13): per training horizon, the Engram slope per
 * decade with its interval and R^2, where the curve stops falling, the no-memory reference (variant
 * moe: the same backbone with no Engram and no OverEncoding), how many slots Engram needs to match
 * each OverEncoding setting's best loss at the longest horizon, and slots per distinct compressed
 * n-gram seen (counts passed in: computing them loads the corpus, src/train/coverage.ts).
 *
 * Everything here is a pure function of rows, so it is unit-testable without a results folder.
 * A sweep without horizons is one "horizon": key null, the trials' final losses.
 */
import { mean, pooledNoise, standardErrors, type Interval, type Point } from './bootstrap.js';
import { fitPowerlaw, type PowerlawOptions } from './powerlaw.js';

/** One finished memory trial at one horizon. */
export interface MemoryRow {
  variant: string;
  seed: number;
  /** null for the no-memory reference */
  slots: number | null;
  valLoss: number;
  /** training tokens of the horizon; null in a sweep without horizons */
  horizon: number | null;
}

/** Distinct compressed n-grams the training batches held up to a horizon (mean over seeds). */
export interface NgramCoverage {
  horizon: number | null;
  bigrams: number;
  trigrams: number;
}

export interface MemoryReference {
  /** mean validation loss of the no-memory trials over seeds */
  mean: number;
  /** its standard error (sd / sqrt n over seeds), null with one seed */
  se: number | null;
  n: number;
}

/** One step between adjacent sampled slot counts of the Engram curve. */
export interface MemoryStep {
  from: number;
  to: number;
  /** mean loss at `from` minus mean loss at `to`: positive = the curve falls */
  drop: number;
  /** standard error of drop: paired by seed when both points share >= 2 seeds, else unpaired */
  se: number | null;
  paired: boolean;
  /** drop > 2 se */
  falls: boolean;
}

export interface MemoryHorizon {
  horizon: number | null;
  /** Engram: L = a + b log10 M, b and its bootstrap interval (powerlaw.ts), R^2 of the power-law fit */
  slopePerDecade: number | null;
  slopeInterval: Interval | null;
  r2: number | null;
  /**
   * slotsPerBigram / slotsPerTrigram: slots (the per-table base size: each n-gram order has its own
   * tables) over the distinct compressed 2-grams / 3-grams seen up to this horizon
   */
  points: {
    slots: number;
    loss: number;
    se: number | null;
    n: number;
    slotsPerBigram: number | null;
    slotsPerTrigram: number | null;
  }[];
  steps: MemoryStep[];
  /**
   * Where the curve stops falling: the slot count from which no later step is lower by more than
   * 2 se (the start of the trailing run of flat steps); null when the last step still falls. A
   * flat step followed by falling ones (e.g. 300 -> 1000, then falling) is not a stop: `steps`
   * shows it. Also null where no step has a noise estimate (one seed): see stopJudged.
   */
  stopsFalling: number | null;
  /** whether any step has an se (two seeds or more at some slot count), so that a stop can be judged */
  stopJudged: boolean;
  /** the no-memory reference at this horizon, null when the sweep has none */
  reference: MemoryReference | null;
  /** best (lowest mean) loss of each OverEncoding setting at this horizon */
  overencoding: { variant: string; loss: number; slots: number }[];
  /** distinct compressed n-grams seen up to this horizon, when counted */
  coverage: NgramCoverage | null;
}

export interface SlotsToMatch {
  variant: string;
  /** the OverEncoding setting's best mean loss at the longest horizon, and its slots */
  loss: number;
  atSlots: number;
  /** Engram slots at that loss, interpolated on the observed Engram means; null outside the range */
  engramSlots: number | null;
  where: 'interpolated' | 'fewer than the smallest sampled' | 'more than the largest sampled';
}

export interface MemoryFit {
  horizons: MemoryHorizon[];
  /** at the longest horizon: Engram slots needed to match each OverEncoding setting's best loss */
  slotsToMatch: SlotsToMatch[];
  /** how slotsToMatch interpolates */
  matchMethod: string;
}

const sd = (v: readonly number[]) => {
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};

/** Rows of one variant -> points (one per slot count, the seeds' losses). */
function points(rows: readonly MemoryRow[]): Point[] {
  const by = new Map<number, Point>();
  for (const r of rows) {
    if (r.slots === null) continue;
    const p = by.get(r.slots) ?? { x: r.slots, ys: [], seeds: [] };
    p.ys.push(r.valLoss);
    p.seeds!.push(r.seed);
    by.set(r.slots, p);
  }
  return [...by.values()].sort((a, b) => a.x - b.x);
}

/**
 * The step between two adjacent points. Paired by seed where possible (the same seed shares the
 * data order and initialisation across slot counts, so pairing removes that shared noise): with
 * >= 2 common seeds, se = sd(per-seed drops) / sqrt(n common). Otherwise unpaired, the two means'
 * standard errors from the pooled seed noise (bootstrap.ts) added in quadrature; null without any
 * seed noise.
 */
export function step(a: Point, b: Point, seA: number | null, seB: number | null): MemoryStep {
  const drop = mean(a.ys) - mean(b.ys);
  let se: number | null = null;
  let paired = false;
  if (a.seeds && b.seeds) {
    const common = a.seeds.filter((s) => b.seeds!.includes(s));
    if (common.length >= 2) {
      const d = common.map((s) => a.ys[a.seeds!.indexOf(s)] - b.ys[b.seeds!.indexOf(s)]);
      se = sd(d) / Math.sqrt(d.length);
      paired = true;
    }
  }
  if (!paired && seA !== null && seB !== null) se = Math.sqrt(seA * seA + seB * seB);
  return { from: a.x, to: b.x, drop, se, paired, falls: se !== null && drop > 2 * se };
}

/** The no-memory reference of some rows (variant moe, no slots). */
export function reference(rows: readonly MemoryRow[]): MemoryReference | null {
  const ys = rows.filter((r) => r.variant === 'moe').map((r) => r.valLoss);
  if (!ys.length) return null;
  return { mean: mean(ys), se: ys.length > 1 ? sd(ys) / Math.sqrt(ys.length) : null, n: ys.length };
}

/**
 * Engram slots at `loss` on the observed Engram means, linear in log10 slots between adjacent
 * sampled points, at the first sampled interval where the curve crosses the loss from above;
 * never extrapolated.
 */
export function slotsAtLoss(
  pts: readonly { slots: number; loss: number }[],
  loss: number,
): Pick<SlotsToMatch, 'engramSlots' | 'where'> {
  if (!pts.length) return { engramSlots: null, where: 'more than the largest sampled' };
  if (pts[0].loss <= loss) return { engramSlots: null, where: 'fewer than the smallest sampled' };
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    const b = pts[i];
    if (b.loss <= loss) {
      const t = (a.loss - loss) / (a.loss - b.loss);
      const l = Math.log10(a.slots) + t * (Math.log10(b.slots) - Math.log10(a.slots));
      return { engramSlots: 10 ** l, where: 'interpolated' };
    }
  }
  return { engramSlots: null, where: 'more than the largest sampled' };
}

/** The memory analysis of a slots sweep's rows (all variants, all horizons). */
export function fitMemory(
  rows: readonly MemoryRow[],
  opts: PowerlawOptions & { coverage?: readonly NgramCoverage[] } = {},
): MemoryFit {
  const horizons = [...new Set(rows.map((r) => r.horizon))].sort((a, b) => (a ?? 0) - (b ?? 0));
  const out: MemoryHorizon[] = horizons.map((h) => {
    const at = rows.filter((r) => r.horizon === h);
    const cov = opts.coverage?.find((c) => c.horizon === h) ?? null;
    const pts = points(at.filter((r) => r.variant === 'engram'));
    const noise = pooledNoise(pts);
    const se = noise ? standardErrors(pts, noise) : pts.map(() => null);
    const fit =
      pts.length >= 2 ? fitPowerlaw({ key: h === null ? 'engram' : `engram@${h}`, points: pts }, opts).group : null;
    const steps = pts.slice(1).map((p, i) => step(pts[i], p, se[i], se[i + 1]));
    const judged = steps.some((s) => s.se !== null);
    // the trailing run of steps that do not fall by > 2 se
    let stop = steps.length;
    while (stop > 0 && !steps[stop - 1].falls) stop--;
    const oe = [...new Set(at.filter((r) => r.variant.startsWith('overencoding')).map((r) => r.variant))]
      .sort()
      .map((variant) => {
        const best = points(at.filter((r) => r.variant === variant))
          .map((p) => ({ slots: p.x, loss: mean(p.ys) }))
          .reduce((a, b) => (b.loss < a.loss ? b : a));
        return { variant, ...best };
      });
    return {
      horizon: h,
      slopePerDecade: fit ? fit.slopePerDecade : null,
      slopeInterval: fit ? fit.intervals.slopePerDecade : null,
      r2: fit ? fit.r2 : null,
      points: pts.map((p, i) => ({
        slots: p.x,
        loss: mean(p.ys),
        se: se[i],
        n: p.ys.length,
        slotsPerBigram: cov && cov.bigrams > 0 ? p.x / cov.bigrams : null,
        slotsPerTrigram: cov && cov.trigrams > 0 ? p.x / cov.trigrams : null,
      })),
      steps,
      stopsFalling: judged && stop < steps.length ? steps[stop].from : null,
      stopJudged: judged,
      reference: reference(at),
      overencoding: oe,
      coverage: cov,
    };
  });
  const last = out[out.length - 1];
  const slotsToMatch: SlotsToMatch[] = last
    ? last.overencoding.map((o) => ({
        variant: o.variant,
        loss: o.loss,
        atSlots: o.slots,
        ...slotsAtLoss(last.points, o.loss),
      }))
    : [];
  return {
    horizons: out,
    slotsToMatch,
    matchMethod:
      'observed Engram seed means, linear in log10 slots between adjacent sampled counts (first crossing); never extrapolated',
  };
}

const f = (v: number | null, d: number) => (v === null ? 'n/a' : v.toFixed(d));
const iv = (i: Interval | null, d: number) => (i ? `[${f(i[0], d)}, ${f(i[1], d)}]` : '[no interval]');
const tok = (h: number | null) =>
  h === null ? 'final' : h >= 1e6 ? `${+(h / 1e6).toPrecision(3)}M tokens` : `${+(h / 1e3).toPrecision(3)}K tokens`;

/** The memory analysis in words, one line per horizon and per OverEncoding setting. */
export function memoryLines(m: MemoryFit): string[] {
  const lines: string[] = [];
  for (const h of m.horizons) {
    const ref = h.reference
      ? `; no memory ${f(h.reference.mean, 3)} (se ${f(h.reference.se, 3)}, n ${h.reference.n})`
      : '';
    const unjudged = 'where it stops falling is not judged (one seed: no noise estimate)';
    const flat = h.steps
      .filter((s) => !s.falls && (h.stopsFalling === null || s.from < h.stopsFalling))
      .map((s) => `${s.from}->${s.to}`);
    const still = `still falls by > 2 se at the largest step (${h.points[h.points.length - 1]?.slots ?? 'n/a'} slots)`;
    const stop = !h.stopJudged
      ? unjudged
      : (h.stopsFalling === null
          ? still
          : `stops falling past ${h.stopsFalling} slots (no later step lower by > 2 se)`) +
        (flat.length ? ` (flat earlier: ${flat.join(', ')})` : '');
    const cov = h.coverage
      ? `; ${Math.round(h.coverage.bigrams)} distinct 2-grams, ${Math.round(h.coverage.trigrams)} 3-grams seen: slots / 2-grams ${h.points.map((p) => `${p.slots}: ${p.slotsPerBigram === null ? 'n/a' : p.slotsPerBigram.toPrecision(2)}`).join(', ')}`
      : '';
    const oe = h.overencoding.map((o) => `; ${o.variant} best ${f(o.loss, 3)} at ${o.slots}`).join('');
    lines.push(
      `memory @ ${tok(h.horizon)}: engram ${f(h.slopePerDecade, 4)} ${iv(h.slopeInterval, 4)} nats per decade, R^2 ${f(h.r2, 2)}; ${stop}${ref}${oe}${cov}`,
    );
  }
  for (const s of m.slotsToMatch) {
    const n =
      s.where === 'interpolated'
        ? `~${Math.round(s.engramSlots!)} slots (interpolated on the observed means)`
        : `${s.where} (no extrapolation)`;
    lines.push(`engram matches ${s.variant}'s best loss (${f(s.loss, 3)} at ${s.atSlots} slots) with ${n}`);
  }
  return lines;
}
