/**
 * The steps `engram-sweep run` gives runSweep to run after a sweep (the fits, report, bundle and
 * answer line: src/sweep/after.ts). Passed explicitly (run.ts: `after: AFTER_SWEEP`); importing
 * this file has no side effect.
 */
import { fitsAndReport } from '../sweep/after.js';
import type { AfterSweepStep } from '../sweep/run.js';

export const AFTER_SWEEP: AfterSweepStep[] = [fitsAndReport];
