/**
 * Training horizons as rows (issue 12): a horizons trial trains one warmup-stable-decay trunk and
 * evaluates a cooldown branch at each horizon, recorded in result.json as
 * `horizons: [{tokens, step, valLoss, valBpb, seconds}]` (src/contract/results.ts). For the fits
 * each horizon is its own row, `horizon` = its tokens, so a (budget, horizon) pair is one curve.
 *
 * A sweep where no trial has horizons keeps horizon = null on every row, so its groups, keys and
 * fits are what they were before horizons existed. In a sweep where some trials have them, a
 * trial without horizons is one horizon: its own tokens.
 */
import { join } from 'node:path';
import { InputError, show } from '../contract/errors.js';
import { RESULT_FILE, trialDir } from '../contract/files.js';
import { readResult } from '../contract/result.js';
import type { HorizonResult } from '../contract/results.js';
import { readTrialRows, type TrialRow } from '../results/table.js';

export interface HorizonRow extends TrialRow {
  /** training tokens of this row's horizon; null in a sweep without horizons */
  horizon: number | null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** result.json's horizons of one trial, checked; null when it has none. */
export function readHorizons(sweepDir: string, id: string): HorizonResult[] | null {
  const file = join(trialDir(sweepDir, id), RESULT_FILE);
  const hs: unknown = readResult(trialDir(sweepDir, id), { strict: true })?.horizons;
  if (hs === undefined || hs === null) return null;
  if (!Array.isArray(hs))
    throw new InputError(file, 'must be a list of {tokens, step, valLoss, valBpb, seconds}', 'horizons');
  hs.forEach((h, i) => {
    if (!h || !isNum(h.tokens) || !(h.tokens > 0))
      throw new InputError(file, `must be a positive number, not ${show(h?.tokens)}`, `horizons[${i}].tokens`);
    if (!isNum(h.valLoss))
      throw new InputError(file, `must be a number, not ${show(h.valLoss)}`, `horizons[${i}].valLoss`);
    if (i > 0 && !(h.tokens > hs[i - 1].tokens))
      throw new InputError(
        file,
        `${h.tokens} does not increase on the previous horizon (${hs[i - 1].tokens})`,
        `horizons[${i}].tokens`,
      );
  });
  return hs.length ? (hs as HorizonResult[]) : null;
}

/** Rows -> one row per (trial, horizon); `horizonsOf` gives a trial's horizons or null. */
export function expandHorizons(
  rows: readonly TrialRow[],
  horizonsOf: (id: string) => HorizonResult[] | null,
): HorizonRow[] {
  const found = new Map(rows.filter((r) => r.status === 'ok').map((r) => [r.id, horizonsOf(r.id)]));
  if (![...found.values()].some((h) => h !== null)) return rows.map((r) => ({ ...r, horizon: null }));
  return rows.flatMap((r) => {
    const hs = found.get(r.id);
    if (!hs) return [{ ...r, horizon: r.status === 'ok' ? r.tokens : null }];
    return hs.map((h) => ({
      ...r,
      valLoss: h.valLoss,
      valBpb: isNum(h.valBpb) ? h.valBpb : null,
      tokens: h.tokens,
      seconds: isNum(h.seconds) ? h.seconds : r.seconds,
      horizon: h.tokens,
    }));
  });
}

/** A results folder's finished trials, one row per horizon. */
export function readHorizonRows(sweepDir: string): HorizonRow[] {
  return expandHorizons(readTrialRows(sweepDir), (id) => readHorizons(sweepDir, id));
}
