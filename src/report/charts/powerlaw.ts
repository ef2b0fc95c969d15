/**
 * Memory scaling (paper Figure 3, right): validation loss against Engram slots M on log axes, a
 * fixed backbone, Engram beside OverEncoding. Seeds as points, their means joined, and the fitted
 * law L = A M^-alpha (solid; docs/SPEC.md section 4) when fits.json has it, and the saturating
 * E + A M^-alpha (dashed) when the data determine E.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TrialRow } from '../../results/table.js';
import type { ReportData } from '../data.js';
import { groupFor, num, type MemoryLike, type PowerLawGroup } from '../fits.js';
import { mean, round, topLevel, unique, VARIANT_COLORS, variantScale } from './common.js';

export const POWERLAW = {
  width: 420,
  height: 260,
  /** points per drawn fit curve, evenly spaced in log M */
  curvePoints: 41,
  pointOpacity: 0.45,
  variants: ['engram', 'overencoding', 'overencoding-full'],
};

/** L(M) = A M^-alpha + E, sampled log-evenly over [m0, m1]. */
export function powerCurve(
  A: number,
  alpha: number,
  E: number | null,
  m0: number,
  m1: number,
  n = POWERLAW.curvePoints,
) {
  const l0 = Math.log10(m0);
  const l1 = Math.log10(m1);
  return Array.from({ length: n }, (_, i) => {
    const slots = 10 ** (l0 + ((l1 - l0) * i) / (n - 1));
    return { slots: round(slots), loss: round(A * slots ** -alpha + (E ?? 0)) };
  });
}

/** The pure law A M^-alpha (the fit's main line) and, when the data determine E, E + A' M^-alpha'. */
function curvesFor(variant: string, g: PowerLawGroup | undefined, m0: number, m1: number) {
  const A = num(g?.A);
  const alpha = num(g?.alpha);
  const out =
    A === null || alpha === null
      ? []
      : powerCurve(A, alpha, null, m0, m1).map((p) => ({ ...p, variant, law: 'A M^-alpha' }));
  const s = g?.saturating;
  const [sE, sA, sAlpha] = [num(s?.E), num(s?.A), num(s?.alpha)];
  if (s?.determined && sE !== null && sA !== null && sAlpha !== null) {
    out.push(...powerCurve(sA, sAlpha, sE, m0, m1).map((p) => ({ ...p, variant, law: 'E + A M^-alpha' })));
  }
  return out;
}

/** The per-(variant, slots) means, joined by a line when no fit is drawn. */
function means(trials: TrialRow[]) {
  const by = new Map<string, TrialRow[]>();
  for (const r of trials) {
    const k = `${r.variant}|${r.slots}`;
    by.set(k, [...(by.get(k) ?? []), r]);
  }
  return [...by.values()].map((rs) => ({
    variant: rs[0].variant,
    slots: rs[0].slots,
    loss: round(mean(rs.map((r) => r.valLoss!))),
    n: rs.length,
  }));
}

// nice: false, or a log axis rounds out to whole decades and flattens a few-hundredths effect
const x = {
  field: 'slots',
  type: 'quantitative',
  title: 'memory slots M (log)',
  scale: { type: 'log', nice: false, padding: 8 },
};
const y = {
  field: 'loss',
  type: 'quantitative',
  title: 'validation loss (nats, log)',
  scale: { type: 'log', nice: false, padding: 8 },
};

/** Seeds as points, their means as diamonds (tooltip: slots per distinct 2-/3-gram seen, when counted). */
function pointLayers(
  trials: TrialRow[],
  avg: (ReturnType<typeof means>[number] & { perBigram?: number | null; perTrigram?: number | null })[],
  color: object,
): object[] {
  const seeds = trials.map((r) => ({
    id: r.id,
    variant: r.variant,
    seed: r.seed,
    slots: r.slots,
    loss: round(r.valLoss!),
  }));
  return [
    {
      data: { values: seeds },
      mark: { type: 'point', filled: true, size: 28, opacity: POWERLAW.pointOpacity },
      encoding: { x, y, color, tooltip: [{ field: 'id' }, { field: 'seed' }, { field: 'slots' }, { field: 'loss' }] },
    },
    {
      data: { values: avg },
      mark: { type: 'point', shape: 'diamond', size: 60, filled: true },
      encoding: {
        x,
        y,
        color,
        tooltip: [
          { field: 'variant' },
          { field: 'slots' },
          { field: 'loss', title: 'mean loss' },
          { field: 'n', title: 'seeds' },
          ...(avg.some((p) => p.perBigram != null)
            ? [
                { field: 'perBigram', title: 'slots / distinct 2-grams seen' },
                { field: 'perTrigram', title: 'slots / distinct 3-grams seen' },
              ]
            : []),
        ],
      },
    },
  ];
}

/** Fitted laws, solid (pure power law) or dashed (with a floor E). */
function curveLayer(curves: ReturnType<typeof curvesFor>, color: object): object {
  const laws = ['A M^-alpha', 'E + A M^-alpha'].filter((l) => curves.some((c) => c.law === l));
  const range = laws.map((l) => (l === 'A M^-alpha' ? [1, 0] : [6, 3]));
  const strokeDash = { field: 'law', type: 'nominal', title: 'fit', scale: { domain: laws, range } };
  return {
    data: { values: curves },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: { x, y, color, strokeDash, detail: { field: 'variant' } },
  };
}

const tokensLabel = (t: number) =>
  t >= 1e6 ? `${+(t / 1e6).toPrecision(3)}M tokens` : `${+(t / 1e3).toPrecision(3)}K tokens`;

/** The memory-law chart, or null when there are no successful memory trials with slots. */
export function powerlawChart(d: ReportData): TopLevelSpec | null {
  const ok = (r: TrialRow) => r.status === 'ok' && r.kind === 'memory' && r.valLoss != null;
  const trials = d.rows.filter((r) => ok(r) && (r.slots ?? 0) > 0 && POWERLAW.variants.includes(r.variant));
  if (!trials.length) return null;
  const variants = unique(trials.map((r) => r.variant));
  const color = { field: 'variant', type: 'nominal', title: 'variant', scale: variantScale(variants) };
  const m0 = Math.min(...trials.map((r) => r.slots!));
  const m1 = Math.max(...trials.map((r) => r.slots!));
  const curves = variants.flatMap((v) => curvesFor(v, groupFor(d.fits?.powerlaw, v), m0, m1));
  const fitted = new Set(curves.map((c) => c.variant));
  const memory = (d.fits?.powerlaw as { memory?: MemoryLike } | undefined)?.memory;
  const final = memory?.horizons[memory.horizons.length - 1];
  // slots / distinct n-grams seen at the final horizon (the same counts for every variant: they follow the seed's batch order)
  const perNgram = new Map((final?.points ?? []).map((p) => [p.slots, p]));
  const avg = means(trials).map((p) => {
    const q = final?.coverage
      ? { slotsPerBigram: p.slots! / final.coverage.bigrams, slotsPerTrigram: p.slots! / final.coverage.trigrams }
      : perNgram.get(p.slots!);
    return {
      ...p,
      perBigram: q?.slotsPerBigram != null ? round(q.slotsPerBigram) : null,
      perTrigram: q?.slotsPerTrigram != null ? round(q.slotsPerTrigram) : null,
    };
  });
  const layers = pointLayers(trials, avg, color);
  // earlier horizons (WSD cooldown branches): Engram's means, thin lines in its colour, each
  // labelled with its tokens at its right end (a legend would merge with the fits' dash legend)
  const earlier = (memory?.horizons ?? []).slice(0, -1).filter((h) => h.horizon !== null);
  if (earlier.length) {
    const values = earlier.flatMap((h) =>
      h.points.map((p) => ({ slots: p.slots, loss: round(p.loss), horizon: `engram @ ${tokensLabel(h.horizon!)}` })),
    );
    const ends = earlier.map((h) => {
      const last = h.points[h.points.length - 1];
      return { slots: last.slots, loss: round(last.loss), label: tokensLabel(h.horizon!) };
    });
    const engram = VARIANT_COLORS.engram;
    layers.push(
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1, opacity: 0.7, color: engram, point: { size: 14, color: engram } },
        encoding: {
          x,
          y,
          detail: { field: 'horizon' },
          tooltip: [{ field: 'horizon' }, { field: 'slots' }, { field: 'loss', title: 'mean loss' }],
        },
      },
      {
        data: { values: ends },
        mark: { type: 'text', align: 'right', baseline: 'bottom', dy: -5, fontSize: 10, color: engram },
        encoding: { x, y, text: { field: 'label' } },
      },
    );
  }
  // variants without a fit get their means joined, so the trend still shows
  const unfitted = avg.filter((p) => !fitted.has(p.variant));
  if (unfitted.length)
    layers.push({
      data: { values: unfitted },
      mark: { type: 'line', strokeDash: [3, 3], strokeWidth: 1 },
      encoding: { x, y, color },
    });
  if (curves.length) layers.push(curveLayer(curves, color));
  // the backbone alone (no memory), when the sweep ran it
  const moe = d.rows.filter((r) => ok(r) && r.variant === 'moe');
  if (moe.length) {
    const values = [
      { loss: round(mean(moe.map((r) => r.valLoss!))), label: `no memory (same backbone), mean of ${moe.length}` },
    ];
    layers.push({
      data: { values },
      mark: { type: 'rule', color: VARIANT_COLORS.moe, strokeDash: [2, 2] },
      encoding: { y, tooltip: [{ field: 'label' }, { field: 'loss' }] },
    });
    layers.push({
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -2, color: VARIANT_COLORS.moe, fontSize: 10 },
      encoding: { y, x: { datum: m0, type: 'quantitative', scale: x.scale }, text: { field: 'label' } },
    });
  }
  const what = curves.length ? 'lines: fitted L = A M^-alpha (+ E)' : 'dashed: means (no fit yet: engram-sweep fit)';
  const rule = moe.length ? '; grey rule: no memory' : '';
  const cov = final?.coverage
    ? `tooltip: slots per distinct 2-/3-gram seen (${Math.round(final.coverage.bigrams)} / ${Math.round(final.coverage.trigrams)})`
    : '';
  const last = final?.horizon != null ? ` (the rest: ${tokensLabel(final.horizon)})` : '';
  const thin = earlier.length ? `thin lines: Engram's means at the earlier horizons${last}` : '';
  return topLevel(
    'Validation loss vs memory slots',
    // one subtitle line per note: a long line would set the chart's width
    ['fixed backbone; points: seeds, diamonds: means', `${what}${rule}`, thin, cov].filter(Boolean),
    {
      width: POWERLAW.width,
      height: POWERLAW.height,
      layer: layers,
    },
  );
}
