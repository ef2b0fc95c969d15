/**
 * `run --only axis=value`: train a part of a sweep, e.g. one budget or one seed, first. A long
 * study runs in parts across sessions; choosing which part runs first (all seeds of the small
 * budget before the large one) lets a part be fitted with intervals on its own. The selection
 * only filters which pending trials train in this run: the sweep, its ids and its folder are
 * those of the whole spec, so a later run without --only picks up the rest.
 *
 * Several values of one axis are alternatives (seed=1 --only seed=2), different axes must all
 * hold (budget=d64 --only seed=1). Values compare as written in describeMeta (rho 0.5, not .50).
 */
import { InputError, show } from '../contract/errors.js';
import type { Trial, TrialMeta } from './types.js';

export const SELECT_AXES = ['variant', 'budget', 'rho', 'seed', 'slots'] as const;
type Axis = (typeof SELECT_AXES)[number];

/** axis -> the values any of which a trial may have */
export type Selection = Map<Axis, Set<string>>;

function axisValue(m: TrialMeta, axis: Axis): string | undefined {
  const v = m[axis];
  return v === undefined ? undefined : String(v);
}

/**
 * Parse the --only arguments against the plan's trials: an unknown axis, or a value no trial has,
 * is an InputError naming the argument and the values allowed (a typo must not silently select
 * nothing).
 */
export function parseSelection(args: string[], trials: Trial[]): Selection {
  const sel: Selection = new Map();
  for (const arg of args) {
    const m = /^\s*([A-Za-z]+)\s*=\s*(.+?)\s*$/.exec(arg);
    const flag = `--only ${arg}`;
    if (!m) throw new InputError(flag, `is not axis=value; axes: ${SELECT_AXES.join(', ')}`);
    const axis = m[1] as Axis;
    if (!SELECT_AXES.includes(axis))
      throw new InputError(flag, `${show(m[1])} is not one of ${SELECT_AXES.join(', ')}`);
    const present = [
      ...new Set(trials.map((t) => axisValue(t.meta, axis)).filter((v): v is string => v !== undefined)),
    ];
    // numbers compare by value, so 0.50 selects rho 0.5
    const value =
      axis === 'rho' || axis === 'seed' || axis === 'slots'
        ? Number.isFinite(Number(m[2]))
          ? String(Number(m[2]))
          : m[2]
        : m[2];
    if (!present.includes(value)) {
      const allowed = present.length ? present.join(', ') : `none: no trial of this sweep has a ${axis}`;
      throw new InputError(flag, `no trial has ${axis} ${show(m[2])}; values in this sweep: ${allowed}`);
    }
    if (!sel.has(axis)) sel.set(axis, new Set());
    sel.get(axis)!.add(value);
  }
  return sel;
}

/** The trials the selection holds, in plan order (an empty selection holds all). */
export function selectTrials(trials: Trial[], sel: Selection): Trial[] {
  return trials.filter((t) =>
    [...sel].every(([axis, values]) => {
      const v = axisValue(t.meta, axis);
      return v !== undefined && values.has(v);
    }),
  );
}

/** "budget=d64 seed=1|2", for log lines. */
export function describeSelection(sel: Selection): string {
  return [...sel].map(([axis, values]) => `${axis}=${[...values].join('|')}`).join(' ');
}
