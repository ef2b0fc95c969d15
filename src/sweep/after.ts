/**
 * What every sweep does when its trials are done: fit the laws its trials allow, then write the
 * report. A fit or report that cannot be made (e.g. fewer than three rho values) is said in one
 * line and does not fail the run: the trials' results are what the run was for. Then the
 * bundle the notebooks read, and last the one-line answer (the shape classifier's word per
 * budget, fit/shape.ts), so that it is what a user sees when the run ends.
 */
import { InputError } from '../contract/errors.js';
import { answerLine, coverageFor, fitSweep, type FitResult } from '../fit/index.js';
import { writeReport } from '../report/index.js';
import { writeBundle } from '../results/bundle.js';
import { otherVersionsNote } from '../results/table.js';
import type { AfterSweepContext } from './run.js';

/** The fits, report.html, bundle.json and the answer line: runSweep's `after: [fitsAndReport]`. */
export async function fitsAndReport({ dir, log }: AfterSweepContext): Promise<void> {
  const note = otherVersionsNote(dir);
  if (note) log(`fits and report: ${note}`);
  let fits: FitResult[] = [];
  try {
    fits = fitSweep(dir, { coverage: await coverageFor(dir, (l) => log(`fits: ${l}`)) });
    log(`fits: ${fits.length} written to ${dir}/fits.json`);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    log(`fits: skipped (${e.line()})`);
  }
  try {
    const r = await writeReport(dir);
    log(`report: ${r.html}`);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    log(`report: skipped (${e.line()})`);
  }
  // the notebooks read one file per sweep (they cannot list folders at page time)
  log(`bundle: ${writeBundle(dir)}`);
  const answer = answerLine(fits.find((f) => f.kind === 'ushape')?.groups ?? []);
  if (answer) log(`answer: ${answer}`);
}
