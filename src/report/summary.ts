/**
 * The fit summary in words, the report's headline: what the allocation curve's shape is (the one
 * classifier of fit/shape.ts, from the two walls; never the parabola's curvature), where rho* is,
 * how it moves across horizons, and what the memory law says about slots (docs/SPEC.md section 4), e.g.
 * "Budget d96: no left wall (rho = 0 is within noise of the best mix, rho = 1 is worse): best arm
 * rho = 0.50 (Akima 0.52); dL0 ..., dL1 ... nats". Without fits.json it says so and names the
 * best trial instead.
 */
import type { TrialRow } from '../results/table.js';
import { fmt, trialLabel } from './charts/common.js';
import type { ReportData } from './data.js';
import { classifyShape, SHAPE_MEANING, tokensText, wallText } from '../fit/index.js';
import {
  curveGroup,
  curveOf,
  interval,
  num,
  type Interval,
  type PowerLawGroup,
  type TrendLike,
  type UShapeGroup,
} from './fits.js';

export interface Summary {
  /** the first finding, shown large */
  headline: string;
  /** the other findings and caveats, one sentence each */
  details: string[];
}

/** "[0.71, 0.86]"; an unbounded end reads as "-inf" / "+inf". */
export function intervalText(iv: Interval | null, digits: number): string {
  if (!iv) return '';
  return `[${iv[0] === null ? '-inf' : fmt(iv[0], digits)}, ${iv[1] === null ? '+inf' : fmt(iv[1], digits)}]`;
}

const rho = (v: number | null | undefined) => fmt(v, 2);

/**
 * The shape word and what it rests on, for one curve (fit/shape.ts classifies from the walls):
 * "U (both walls resolved: ...): rho* = 0.62 [0.55, 0.70] (quadratic vertex); dL0 +0.0118
 * [0.0003, 0.0234], dL1 +0.0599 [0.0392, 0.0748] nats". The quadratic's vertex is the optimum
 * only for a U; otherwise the best arm is, with the Akima argmin beside it.
 */
export function ushapeSentence(g: UShapeGroup): string | null {
  if (!g.walls) {
    const v = num(g.vertex);
    return v === null
      ? null
      : `shape not classified (this fits.json has no walls: rerun engram-sweep fit); the parabola's vertex is at rho = ${rho(v)}`;
  }
  const shape = classifyShape(g.walls);
  const r = g.rhoStar;
  const iv = interval(r?.interval);
  const star =
    num(r?.value) === null
      ? ''
      : r!.source === 'vertex'
        ? `rho* = ${rho(r!.value)}${iv ? ` ${intervalText(iv, 2)}` : ''} (quadratic vertex)`
        : `best arm rho = ${rho(r!.value)}${num(g.vertexAkima) !== null ? ` (Akima ${rho(g.vertexAkima)})` : ''}`;
  const walls = `dL0 ${wallText(g.walls.left)}, dL1 ${wallText(g.walls.right)} nats`;
  return `${shape} (${SHAPE_MEANING[shape]})${star ? `: ${star}` : ''}; ${walls}`;
}

/** "0.095 nats better than pure MoE (gain interval [0.076, 0.117])". */
export function gainSentence(g: UShapeGroup): string | null {
  const gain = num(g.gain);
  if (gain === null) return null;
  const giv = interval(g.gainInterval);
  const than = g.reference?.source === 'fit' ? 'the fitted curve at rho = 1' : 'pure MoE';
  return `the best mix is ${fmt(Math.abs(gain), 3)} nats ${gain >= 0 ? 'better' : 'worse'} than ${than}${giv ? ` (gain interval ${intervalText(giv, 3)})` : ''}`;
}

const EDGE: Record<string, string> = {
  edge: 'the vertex interval reaches past the swept rho range',
  outside: 'the vertex lies outside the swept rho range: the optimum is not located',
  spans: 'the vertex interval spans the whole swept rho range: where the optimum lies is inconclusive',
};

/** Caveats a reader must see next to the number. */
export function ushapeCaveats(g: UShapeGroup): string[] {
  const out: string[] = [];
  const edge = g.edge === true ? 'edge' : typeof g.edge === 'string' ? g.edge : null;
  // the vertex is the optimum only where rho* is the vertex (or in an old fits.json without walls)
  const vertexUsed = g.rhoStar ? g.rhoStar.source === 'vertex' : num(g.vertex) !== null;
  const xs = (g.residuals ?? []).map((r) => r.x);
  const iv = interval(g.interval);
  const spans =
    xs.length > 0 &&
    (iv === null || ((iv[0] ?? -Infinity) <= Math.min(...xs) && (iv[1] ?? Infinity) >= Math.max(...xs)));
  if (edge && EDGE[edge] && vertexUsed) out.push(edge === 'edge' && spans ? EDGE.spans : EDGE[edge]);
  if (g.converged === false) out.push(`the fit did not converge${g.reason ? ` (${g.reason})` : ''}`);
  else if (g.reason) out.push(g.reason);
  const r2 = num(g.r2);
  if (r2 !== null) out.push(`quadratic R² ${fmt(r2, 2)} over ${g.n} trials`);
  return out;
}

const signed = (v: number | null | undefined, d: number) =>
  typeof v === 'number' ? `${v >= 0 ? '+' : ''}${v.toFixed(d)}` : 'n/a';

/** "across 4 horizons (0.10M..0.80M tokens): rho* +0.098 [0.05, 0.14] per doubling of tokens, ...". */
export function trendSentence(t: TrendLike): string | null {
  const p = t.points;
  if (p.length < 2) return null;
  const slope = (name: string, v: TrendLike['rhoStar'], d: number) =>
    `${name} ${signed(v?.slope, d)}${interval(v?.interval) ? ` ${intervalText(interval(v?.interval), d)}` : ''}`;
  const tpa =
    num(p[0].tokensPerActive) !== null
      ? `, ${fmt(p[0].tokensPerActive, 1)}..${fmt(p[p.length - 1].tokensPerActive, 1)} per active parameter`
      : '';
  return `across ${p.length} horizons (${tokensText(p[0].tokens)}..${tokensText(p[p.length - 1].tokens)} tokens${tpa}), per doubling of tokens: ${slope('rho*', t.rhoStar, 3)}, ${slope('dL0', t.dL0, 4)}, ${slope('dL1', t.dL1, 4)}`;
}

/** "engram: -0.028 [-0.034, -0.022] nats per decade of slots (alpha = 0.0041, R² 0.98, 10 trials)". */
export function powerlawSentence(g: PowerLawGroup): string | null {
  const slope = num(g.slopePerDecade);
  const alpha = num(g.alpha);
  if (slope === null && alpha === null) return null;
  const siv = interval(g.intervals?.slopePerDecade);
  const parts = [
    alpha !== null ? `alpha = ${fmt(alpha, 4)}` : '',
    num(g.E) !== null ? `floor E = ${fmt(g.E, 3)}` : '',
    num(g.r2) !== null ? `R² ${fmt(g.r2, 2)}` : '',
    `${g.n} trials`,
  ].filter(Boolean);
  const main =
    slope !== null
      ? `${fmt(slope, 3)}${siv ? ` ${intervalText(siv, 3)}` : ''} nats per decade of slots`
      : 'L = A M^-alpha';
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

/** One OverEncoding setting's best loss and the Engram slots that reach it (src/fit/memory.ts slotsToMatch). */
export function matchSentence(m: {
  variant: string;
  loss: number;
  atSlots: number;
  engramSlots: number | null;
  where: string;
}): string {
  const n =
    m.engramSlots !== null
      ? `~${Math.round(m.engramSlots)} slots (interpolated between sampled counts)`
      : `${m.where} slot count`;
  return `Engram reaches ${m.variant}'s best loss (${fmt(m.loss, 3)} at ${m.atSlots} slots) with ${n}`;
}

function bestTrial(rows: TrialRow[]): string {
  const ok = rows.filter((r) => r.status === 'ok' && r.valLoss != null).sort((a, b) => a.valLoss! - b.valLoss!);
  const b = ok[0];
  return `best trial: ${trialLabel(b)} seed ${b.seed}, validation loss ${fmt(b.valLoss, 4)} nats (${fmt(b.valBpb, 4)} bits/byte)`;
}

const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1) + '.';

/** Headline first: the allocation shape per budget, else the memory law, else the best trial. */
export function summarize(d: ReportData): Summary {
  const found: string[] = [];
  const notes: string[] = [];
  const budgets = new Set(d.rows.map((r) => r.budget).filter(Boolean));
  const curves = [...new Set((d.fits?.ushape?.groups ?? []).map(curveOf))];
  for (const curve of curves) {
    const g = curveGroup(d.fits?.ushape, curve)!;
    const at =
      typeof g.horizon === 'number'
        ? ` at ${tokensText(g.horizon)} tokens${num(g.tokensPerActive) !== null ? ` (${fmt(g.tokensPerActive, 1)} per active parameter)` : ''}`
        : '';
    const who = `${budgets.size > 1 || !budgets.has(curve) || at ? `budget ${curve}` : ''}${at}`;
    const pre = who ? `${who}: ` : '';
    const s = ushapeSentence(g);
    if (s) found.push(`${pre}${s}`);
    const gain = gainSentence(g);
    if (gain) notes.push(`${pre}${gain}`);
    const t = d.fits?.ushape?.trends?.find((x) => x.budget === curve);
    const ts = t ? trendSentence(t) : null;
    if (ts) found.push(`budget ${curve} ${ts}`);
    const c = ushapeCaveats(g);
    if (c.length) notes.push(`${pre}${c.join('; ')}`);
  }
  for (const g of d.fits?.powerlaw?.groups ?? []) {
    const s = powerlawSentence(g);
    if (s) found.push(s);
  }
  // the memory fit's match, read off the observed means, replaces the fitted law's multiple
  const matches = d.fits?.powerlaw?.memory?.slotsToMatch ?? [];
  for (const m of matches) found.push(matchSentence(m));
  const multiple = matches.length ? null : slotMultipleSentence(d.fits?.powerlaw?.slotMultiple);
  if (multiple) found.push(multiple);
  if (!d.fits) notes.push(`no fit yet: run engram-sweep fit ${d.dir}`);
  else if (!d.fits.ushape?.groups.length && !d.fits.powerlaw?.groups.length)
    notes.push('the fits.json here holds no fit');
  const failed = d.rows.filter((r) => r.status === 'failed');
  if (failed.length)
    notes.push(
      `${failed.length} of ${d.rows.length} finished trials failed (${[...new Set(failed.map((r) => r.reason ?? 'error'))].join(', ')}); they are listed in the table, not drawn`,
    );
  const all = [...found, bestTrial(d.rows), ...notes].map(sentence);
  return { headline: all[0], details: all.slice(1) };
}
