/**
 * How the allocation moves with the training horizon (issue 12, item 3), from fits.json's trends:
 * rho* against tokens with its intervals and the paper's 0.75-0.8 band (its optimum at ~100
 * tokens per active parameter), and the two walls dL0, dL1 against tokens with theirs. Tokens on
 * a log axis (the horizons double); tokens per active parameter in the tooltips, since budgets
 * differ in P_act and share the tokens axis.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ReportData } from '../data.js';
import { interval, type TrendLike } from '../fits.js';
import { round, topLevel } from './common.js';

export const TRENDS = {
  width: 380,
  height: 240,
  /** the paper's optimum (Figure 3 left, 27B scale): rho* ~ 0.75-0.8 */
  paperBand: [0.75, 0.8] as const,
  wallColors: { dL0: '#4393c3', dL1: '#d6604d' } as Record<string, string>,
};

const tokensX = {
  field: 'tokens',
  type: 'quantitative',
  title: 'training tokens (log)',
  scale: { type: 'log', nice: false, padding: 12 },
  axis: { format: '~s' },
};
const tooltipBase = [
  { field: 'budget' },
  { field: 'tokens', format: ',' },
  { field: 'tokensPerActive', title: 'tokens / P_act', format: '.1f' },
];

/** A finite value, else the interval end given (an unbounded end drawn to the axis' end). */
const end = (v: number | null | undefined, fallback: number) =>
  typeof v === 'number' && Number.isFinite(v) ? round(v) : fallback;

/** rho* against tokens per budget, with intervals and the paper's band; null without trends. */
export function rhoStarChart(d: ReportData): TopLevelSpec | null {
  const trends = (d.fits?.ushape?.trends ?? []).filter((t) => !t.budget.includes('/'));
  if (!trends.length) return null;
  const values = trends.flatMap((t) =>
    t.points.map((p) => {
      const iv = interval(p.rhoStarInterval);
      return {
        budget: t.budget,
        tokens: p.tokens,
        tokensPerActive: p.tokensPerActive == null ? null : round(p.tokensPerActive, 4),
        rhoStar: round(p.rhoStar ?? NaN),
        lo: end(iv?.[0], 0),
        hi: end(iv?.[1], 1),
        source: p.rhoStarSource ?? '',
        shape: p.shape ?? '',
      };
    }),
  );
  const y = { type: 'quantitative', title: "rho* (experts' share)", scale: { domain: [0, 1], nice: false } };
  const color = { field: 'budget', type: 'nominal', title: 'budget' };
  const [b0, b1] = TRENDS.paperBand;
  return topLevel(
    'Optimal allocation rho* vs training tokens',
    // one line per note: a long subtitle would set the chart's width
    ['bars: 90% intervals; filled: quadratic vertex (shape U), hollow: best arm', `band: the paper's ${b0}-${b1}`],
    {
      width: TRENDS.width,
      height: TRENDS.height,
      layer: [
        {
          data: { values: [{ lo: b0, hi: b1 }] },
          mark: { type: 'rect', color: '#999', opacity: 0.18 },
          encoding: { y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
        },
        {
          data: { values },
          mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7 },
          encoding: { x: tokensX, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
        },
        {
          data: { values },
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: { x: tokensX, y: { ...y, field: 'rhoStar' }, color },
        },
        {
          data: { values },
          mark: { type: 'point', size: 60, strokeWidth: 2 },
          encoding: {
            x: tokensX,
            y: { ...y, field: 'rhoStar' },
            color,
            fill: {
              condition: { test: "datum.source === 'vertex'", field: 'budget', type: 'nominal' },
              value: 'white',
            },
            tooltip: [
              ...tooltipBase,
              { field: 'rhoStar', title: 'rho*' },
              { field: 'source' },
              { field: 'shape' },
              { field: 'lo' },
              { field: 'hi' },
            ],
          },
        },
      ],
    },
  );
}

/** Both walls of one budget against tokens, with intervals and the zero line. */
function wallPanel(t: TrendLike): object {
  const values = t.points.flatMap((p) =>
    (['dL0', 'dL1'] as const).flatMap((w) => {
      const est = p[w];
      if (typeof est !== 'number') return [];
      const iv = interval(p[`${w}Interval`]);
      return [
        {
          budget: t.budget,
          wall: w === 'dL0' ? 'dL0: rho = 0 wall' : 'dL1: rho = 1 wall',
          tokens: p.tokens,
          tokensPerActive: p.tokensPerActive == null ? null : round(p.tokensPerActive, 4),
          loss: round(est),
          lo: end(iv?.[0], round(est)),
          hi: end(iv?.[1], round(est)),
          shape: p.shape ?? '',
        },
      ];
    }),
  );
  const y = { type: 'quantitative', title: 'L(end) - L(best mix) (nats)' };
  const domain = ['dL0: rho = 0 wall', 'dL1: rho = 1 wall'];
  const color = {
    field: 'wall',
    type: 'nominal',
    title: 'wall',
    scale: { domain, range: [TRENDS.wallColors.dL0, TRENDS.wallColors.dL1] },
  };
  return {
    title: `budget ${t.budget}`,
    width: TRENDS.width,
    height: TRENDS.height,
    layer: [
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', color: '#888', strokeDash: [3, 3] },
        encoding: { y: { ...y, field: 'zero' } },
      },
      {
        data: { values },
        mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7 },
        encoding: { x: tokensX, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
      },
      {
        data: { values },
        mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 1.5 },
        encoding: {
          x: tokensX,
          y: { ...y, field: 'loss' },
          color,
          tooltip: [
            ...tooltipBase,
            { field: 'wall' },
            { field: 'loss', title: 'nats' },
            { field: 'lo' },
            { field: 'hi' },
            { field: 'shape' },
          ],
        },
      },
    ],
  };
}

/** The walls against tokens, one panel per budget; null without trends. */
export function wallsChart(d: ReportData): TopLevelSpec | null {
  const trends = [...(d.fits?.ushape?.trends ?? [])]
    .filter((t) => !t.budget.includes('/'))
    .sort((a, b) => a.budget.localeCompare(b.budget));
  if (!trends.length) return null;
  return topLevel(
    'The walls vs training tokens',
    [
      'paired by seed; bars: 90% intervals',
      'above 0: that end is worse than the best mix (a wall), below 0: it beats it',
    ],
    {
      columns: Math.min(2, trends.length),
      concat: trends.map(wallPanel),
      resolve: { scale: { y: 'independent' } },
    },
  );
}
