/**
 * The fit summary in words, the report's headline: what the U-shape says about rho and what the
 * memory law says about slots (ENGRAM-SPEC 4), e.g. "optimum rho = 0.78 [0.71, 0.86], 0.014 nats
 * better than pure MoE". Without fits.json it says so and names the best trial instead.
 */
import type { TrialRow } from '../results/table.js';
import { fmt, trialLabel } from './charts/common.js';
import type { ReportData } from './data.js';
import { interval, num, type Interval, type PowerLawGroup, type UShapeGroup } from './fits.js';

export interface Summary {
  /** the first finding, shown large */
  headline: string;
  /** the other findings and caveats, one sentence each */
  details: string[];
}

const pct = (p: number) => `${Math.round(p * 100)}%`;

/** "[0.71, 0.86]"; an unbounded end reads as "-inf" / "+inf". */
export function intervalText(iv: Interval | null, digits: number): string {
  if (!iv) return '';
  return `[${iv[0] === null ? '-inf' : fmt(iv[0], digits)}, ${iv[1] === null ? '+inf' : fmt(iv[1], digits)}]`;
}

/** "optimum rho = 0.78 [0.71, 0.86], 0.014 nats better than pure MoE" for one budget. */
export function ushapeSentence(g: UShapeGroup): string | null {
  const v = num(g.vertex);
  const curvature = num(g.curvature);
  if (v === null) return curvature === null ? null : `no optimum in rho: the fitted parabola has no minimum (curvature ${fmt(curvature, 3)})`;
  const iv = interval(g.interval);
  let s = `optimum rho = ${fmt(v, 2)}${iv ? ` ${intervalText(iv, 2)}` : ''}`;
  const gain = num(g.gain);
  if (gain !== null) {
    const giv = interval(g.gainInterval);
    const how = gain >= 0 ? 'better' : 'worse';
    const than = g.reference?.source === 'fit' ? 'the fitted curve at rho = 1' : 'pure MoE';
    s += `, ${fmt(Math.abs(gain), 3)} nats ${how} than ${than}${giv ? ` (gain interval ${intervalText(giv, 3)})` : ''}`;
  }
  return s;
}

const EDGE: Record<string, string> = {
  edge: "the vertex interval reaches past the swept rho range: extend the grid there",
  outside: 'the vertex lies outside the swept rho range: the optimum is not located',
};

/** Caveats a reader must see next to the number. */
export function ushapeCaveats(g: UShapeGroup): string[] {
  const out: string[] = [];
  const edge = g.edge === true ? 'edge' : typeof g.edge === 'string' ? g.edge : null;
  // without a vertex the sentence already says there is no optimum
  if (edge && EDGE[edge] && num(g.vertex) !== null) out.push(EDGE[edge]);
  if (g.converged === false) out.push(`the fit did not converge${g.reason ? ` (${g.reason})` : ''}`);
  else if (g.reason) out.push(g.reason);
  const p = num(g.pCurvaturePositive);
  if (p !== null) out.push(`U-shape (positive curvature) in ${pct(p)} of bootstrap resamples`);
  const r2 = num(g.r2);
  if (r2 !== null) out.push(`R² ${fmt(r2, 2)} over ${g.n} trials`);
  return out;
}

/** "engram: -0.028 [-0.034, -0.022] nats per decade of slots (alpha = 0.0041, R² 0.98, 10 trials)". */
export function powerlawSentence(g: PowerLawGroup): string | null {
  const slope = num(g.slopePerDecade);
  const alpha = num(g.alpha);
  if (slope === null && alpha === null) return null;
  const siv = interval(g.intervals?.slopePerDecade);
  const parts = [alpha !== null ? `alpha = ${fmt(alpha, 4)}` : '', num(g.E) !== null ? `floor E = ${fmt(g.E, 3)}` : '', num(g.r2) !== null ? `R² ${fmt(g.r2, 2)}` : '', `${g.n} trials`].filter(Boolean);
  const main = slope !== null ? `${fmt(slope, 3)}${siv ? ` ${intervalText(siv, 3)}` : ''} nats per decade of slots` : 'L = A M^-alpha';
  return `${g.key}: ${main} (${parts.join(', ')})${g.converged === false ? '; the fit did not converge' : ''}`;
}

/**
 * slotMultiple (src/fit): Engram's slots to reach OverEncoding's best loss, as a multiple of
 * OverEncoding's slots there; below 1 Engram needs fewer (the paper: ~3x fewer, i.e. ~0.33).
 */
export function slotMultipleSentence(m: unknown): string | null {
  const rec = typeof m === 'object' && m !== null ? (m as Record<string, unknown>) : {};
  const v = num(m) ?? num(rec.value);
  if (v === null || v <= 0) return null;
  const iv = interval(rec.interval);
  const fewer = v < 1;
  // "x fewer" reads as 1 / multiple: the ends flip, an unbounded end becomes 0 and back
  const inv = (x: number | null): number | null => (x === null ? 0 : x <= 0 ? null : 1 / x);
  const shown: Interval | null = iv ? (fewer ? [inv(iv[1]), inv(iv[0])] : iv) : null;
  const extrapolated = rec.extrapolated === true ? ', extrapolated beyond the sampled slots' : '';
  return `Engram reaches OverEncoding's best loss with ${fmt(fewer ? 1 / v : v, 1)}x ${fewer ? 'fewer' : 'more'} slots${shown ? ` ${intervalText(shown, 1)}` : ''}${extrapolated}`;
}

function bestTrial(rows: TrialRow[]): string {
  const ok = rows.filter((r) => r.status === 'ok' && r.valLoss != null).sort((a, b) => a.valLoss! - b.valLoss!);
  const b = ok[0];
  return `best trial: ${trialLabel(b)} seed ${b.seed}, validation loss ${fmt(b.valLoss, 4)} nats (${fmt(b.valBpb, 4)} bits/byte)`;
}

const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1) + '.';

/** Headline first: the U-shape optimum, else the memory law, else the best trial. */
export function summarize(d: ReportData): Summary {
  const found: string[] = [];
  const notes: string[] = [];
  for (const g of d.fits?.ushape?.groups ?? []) {
    const s = ushapeSentence(g);
    const budgets = new Set(d.rows.map((r) => r.budget).filter(Boolean));
    const who = budgets.size > 1 || !budgets.has(g.key) ? `budget ${g.key}: ` : '';
    if (s) found.push(`${who}${s}`);
    const c = ushapeCaveats(g);
    if (c.length) notes.push(`${who}${c.join('; ')}`);
  }
  for (const g of d.fits?.powerlaw?.groups ?? []) {
    const s = powerlawSentence(g);
    if (s) found.push(s);
  }
  const multiple = slotMultipleSentence(d.fits?.powerlaw?.slotMultiple);
  if (multiple) found.push(multiple);
  if (!d.fits) notes.push(`no fit yet: run engram-sweep fit ${d.dir}`);
  else if (!d.fits.ushape?.groups.length && !d.fits.powerlaw?.groups.length) notes.push('the fits.json here holds no fit');
  const failed = d.rows.filter((r) => r.status === 'failed');
  if (failed.length) notes.push(`${failed.length} of ${d.rows.length} finished trials failed (${[...new Set(failed.map((r) => r.reason ?? 'error'))].join(', ')}); they are listed in the table, not drawn`);
  const all = [...found, bestTrial(d.rows), ...notes].map(sentence);
  return { headline: all[0], details: all.slice(1) };
}
