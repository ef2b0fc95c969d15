/**
 * Training curves: train loss (thin) and validation loss (points, joined) against tokens seen,
 * one series per trial; seeds of one configuration share a colour. A sanity view: diverged,
 * flat or still-falling runs show here before they distort a fit.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TrialRow } from '../../results/table.js';
import type { MetricRow, ReportData } from '../data.js';
import { round, topLevel, trialLabel } from './common.js';

export const TRAINING = {
  width: 560,
  height: 280,
  /** train-loss points kept per trial (evenly strided; keeps big sweeps' reports small) */
  maxPoints: 150,
  trainOpacity: 0.35,
  legendColumns: 2,
};

export interface CurvePoint {
  id: string;
  label: string;
  seed: number;
  metric: 'train' | 'validation';
  tokens: number;
  loss: number;
}

/** At most `max` rows, evenly strided, always keeping the first and the last. */
export function stride<T>(rows: T[], max: number): T[] {
  if (rows.length <= max) return rows;
  const step = (rows.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => rows[Math.round(i * step)]);
}

/** One trial's points: strided train loss, every logged validation loss, and the final one. */
export function trialCurve(r: TrialRow, metrics: MetricRow[], max = TRAINING.maxPoints): CurvePoint[] {
  const base = { id: r.id, label: trialLabel(r), seed: r.seed };
  const point = (metric: CurvePoint['metric'], tokens: number, loss: number): CurvePoint => ({
    ...base,
    metric,
    tokens,
    loss: round(loss),
  });
  const train = stride(
    metrics.filter((m) => Number.isFinite(m.loss)),
    max,
  ).map((m) => point('train', m.tokens, m.loss));
  const val = metrics.filter((m) => Number.isFinite(m.valLoss)).map((m) => point('validation', m.tokens, m.valLoss!));
  // result.json's loss is the full validation pass at the end (DESIGN: results contract)
  if (r.valLoss != null && !val.some((p) => p.tokens === r.tokens)) val.push(point('validation', r.tokens, r.valLoss));
  return [...train, ...val];
}

/** The training-curve chart, or null when no successful trial logged metrics. */
export function trainingChart(d: ReportData): TopLevelSpec | null {
  const trials = d.rows.filter((r) => r.status === 'ok' && (d.metrics.get(r.id)?.length ?? 0) > 0);
  if (!trials.length) return null;
  const values = trials.flatMap((r) => trialCurve(r, d.metrics.get(r.id)!));
  const x = { field: 'tokens', type: 'quantitative', title: 'tokens seen' };
  const y = { field: 'loss', type: 'quantitative', title: 'loss (nats)', scale: { zero: false } };
  const color = {
    field: 'label',
    type: 'nominal',
    title: 'trial',
    scale: { scheme: 'tableau20' },
    legend: { columns: TRAINING.legendColumns, symbolLimit: 60, labelLimit: 220 },
  };
  const tooltip = [
    { field: 'id' },
    { field: 'label' },
    { field: 'seed' },
    { field: 'metric' },
    { field: 'tokens' },
    { field: 'loss' },
  ];
  return topLevel(
    'Training curves',
    'thin: train loss; points: validation loss (the last one is the full validation pass)',
    {
      width: TRAINING.width,
      height: TRAINING.height,
      data: { values },
      layer: [
        {
          transform: [{ filter: "datum.metric === 'train'" }],
          mark: { type: 'line', strokeWidth: 1, opacity: TRAINING.trainOpacity },
          encoding: { x, y, color, detail: { field: 'id' } },
        },
        {
          transform: [{ filter: "datum.metric === 'validation'" }],
          mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 1.5 },
          encoding: { x, y, color, detail: { field: 'id' }, tooltip },
        },
      ],
    },
  );
}
