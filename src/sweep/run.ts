/**
 * A whole sweep run, as a library call: lock and open the results folder, sort its trials (done,
 * failed, to run), train the ones to run on an executor (local child processes, or workers through
 * Redis), print the summary, and when every trial has finished, the `after` steps (the fits and
 * report: ./after.ts). Progress goes to stderr through util/progress.ts's LiveView.
 *
 *     const plan = loadSweep('sweeps/quick.yaml');
 *     await runSweep(plan, { dir: 'results/quick', executor: { kind: 'local' }, after: [fitsAndReport] });
 */
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { initBackend, type BackendChoice, type BackendInfo } from '../backend/index.js';
import { InputError } from '../contract/errors.js';
import { trialSteps } from '../train/schedule.js';
import { LiveView } from '../util/progress.js';
import type { TrialResult } from '../contract/results.js';
import { planWorkers, runLocal, type SweepEvent } from './local.js';
import { connectRedis } from './redis/connection.js';
import { runRedis } from './redis/coordinator.js';
import { describeSelection, selectTrials, type Selection } from './select.js';
import { describeMeta, sweepStatus, type SweepStatus } from './status.js';
import { acquireLock, openSweep, prepareResume, touchSweep } from './store.js';
import type { SweepPlan, Trial } from './types.js';

export interface AfterSweepContext {
  /** the sweep's results folder */
  dir: string;
  plan: SweepPlan;
  status: SweepStatus;
  log: (line: string) => void;
}

/** A step run after a sweep has run to its end (not when interrupted), with the lock still held. */
export type AfterSweepStep = (ctx: AfterSweepContext) => Promise<void> | void;

/** Where the trials train: child processes here, or `engram-sweep worker` processes through Redis. */
export type SweepExecutor =
  | { kind: 'local'; backend?: BackendChoice; workers?: number }
  | { kind: 'redis'; url: string; attempts: number; backoffMs: number };

export interface RunSweepOptions {
  /** the sweep's results folder (store.ts chooseResultsDir) */
  dir: string;
  executor: SweepExecutor;
  /** run failed trials again */
  retryFailed?: boolean;
  /** --only: train only these trials; the after steps wait for the whole sweep */
  selection?: Selection;
  /** run in order once every trial of the sweep has finished */
  after?: AfterSweepStep[];
  /** progress and messages (default: stderr) */
  log?: (line: string) => void;
  /** stops the run, leaving the running trials unfinished; without it SIGINT / SIGTERM do (twice: exit 130) */
  signal?: AbortSignal;
}

/**
 * finished: every trial has its result and the after steps ran; partial: the --only part is
 * finished, others are pending; interrupted: stopped by the signal; unfinished: some trial was
 * stopped from outside (not failed) and runs again next time.
 */
export type SweepOutcome = 'finished' | 'partial' | 'interrupted' | 'unfinished';

export interface SweepRunResult {
  outcome: SweepOutcome;
  status: SweepStatus;
}

/** What the results folder's file system says when it cannot be written (as root too: ENOTDIR, EROFS, ENOSPC, EPERM for chattr +i). */
const WRITE_ERRORS = ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EDQUOT', 'EISDIR', 'ENOENT', 'EEXIST'];

/**
 * Run a sweep, or resume it. Bad input (an unreachable Redis, a missing native backend, a folder
 * that cannot be written) is an InputError thrown before anything is written; a collected result
 * that cannot be written is a CollectError (redis/coordinator.ts).
 */
export async function runSweep(plan: SweepPlan, o: RunSweepOptions): Promise<SweepRunResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const { dir, executor: ex } = o;
  // checked before anything is written: a missing native backend (or an unreachable Redis) is
  // one line and exit 2, not N failed trials; what the check says waits until the folder is ours,
  // so that bad input is one line
  const said: string[] = [];
  const backend = ex.kind === 'local' ? (ex.backend ?? 'auto') : 'auto';
  const backendInfo = ex.kind === 'local' ? await initBackend(backend, { log: (l) => said.push(l) }) : undefined;
  const connection = ex.kind === 'redis' ? await connectRedis(ex.url) : undefined;
  try {
    const { release, resume } = openFolder(dir, plan, o.retryFailed);
    said.forEach(log);
    try {
      const selection = o.selection ?? new Map();
      const todo = selectTrials(resume.todo, selection);
      const only = selection.size
        ? ` (--only ${describeSelection(selection)}: ${todo.length} of the ${resume.todo.length} unfinished)`
        : '';
      log(
        `sweep ${plan.name} -> ${dir}: ${plan.trials.length} trials, ${resume.done.length} done, ` +
          `${resume.failed.length} failed${resume.failed.length ? ' (--retry-failed reruns them)' : ''}, ${todo.length} to run${only}`,
      );
      let interrupted = false;
      if (todo.length && ex.kind === 'redis') {
        interrupted = await executeRemote(
          dir,
          plan,
          todo,
          { ...ex, connection: connection!, retryFailed: o.retryFailed },
          log,
          o.signal,
        );
      } else if (todo.length && ex.kind === 'local') {
        interrupted = await execute(
          dir,
          plan,
          todo,
          { backend, backendInfo: backendInfo!, workers: ex.workers },
          log,
          o.signal,
        );
      }
      return await finish(dir, plan, interrupted, selection.size > 0, o.after ?? [], log);
    } finally {
      release();
    }
  } finally {
    connection?.disconnect();
  }
}

/**
 * Lock the folder, write sweep.json, sort its trials. A folder the file system refuses (read-only,
 * full, under a file) is one InputError line; writes are temp + rename, so nothing is left half-written.
 */
function openFolder(dir: string, plan: SweepPlan, retryFailed?: boolean) {
  let release = () => {};
  try {
    release = acquireLock(dir);
    openSweep(dir, plan);
    return { release, resume: prepareResume(dir, plan.trials, retryFailed) };
  } catch (e) {
    release();
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof InputError || !code || !WRITE_ERRORS.includes(code)) throw e;
    throw new InputError(
      dir,
      `cannot write the results folder (${code}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}); choose another with --results DIR`,
    );
  }
}

/** Summary, outcome, and the after steps when the sweep ran to its end. */
async function finish(
  dir: string,
  plan: SweepPlan,
  interrupted: boolean,
  partial: boolean,
  after: AfterSweepStep[],
  log: (l: string) => void,
): Promise<SweepRunResult> {
  touchSweep(dir);
  const status = sweepStatus(dir);
  summary(status, log);
  if (interrupted) return { outcome: 'interrupted', status };
  const unfinished = status.counts.pending + status.counts.running;
  // --only: the selected part ran to its end; the after steps wait for the whole sweep
  if (partial && unfinished > 0) {
    log(
      `--only: the selected trials are finished; ${unfinished} other trial(s) pending: run again without --only for the rest`,
    );
    return { outcome: 'partial', status };
  }
  // a trial process stopped by SIGINT/SIGTERM from outside is unfinished, not failed
  if (unfinished > 0) return { outcome: 'unfinished', status };
  for (const step of after) await step({ dir, plan, status, log });
  return { outcome: 'finished', status };
}

/** Train the trials on the local executor; true when interrupted. */
async function execute(
  dir: string,
  plan: SweepPlan,
  todo: Trial[],
  o: { backend: BackendChoice; backendInfo: BackendInfo; workers?: number },
  log: (l: string) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const { backend, backendInfo, workers } = o;
  const wp = planWorkers(todo, { workers });
  log(
    `workers: ${wp.workers}, OPENBLAS_NUM_THREADS=${wp.threads} per trial${wp.capped ? ` (capped: ${wp.capped})` : ''}`,
  );
  const view = sweepView(plan.name, todo);
  return stoppable(
    view,
    'the running trials are left unfinished and start again on the next run',
    signal,
    async (s) => {
      await runLocal(todo, { dir, backend, backendInfo, workers, signal: s, onEvent: view.event });
      view.close();
      return s.aborted;
    },
  );
}

/** Train the trials on worker processes through Redis; true when interrupted. */
async function executeRemote(
  dir: string,
  plan: SweepPlan,
  todo: Trial[],
  o: { url: string; attempts: number; backoffMs: number; connection: Redis; retryFailed?: boolean },
  log: (l: string) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const view = sweepView(plan.name, todo);
  const what = 'queued and running trials stay with the workers: run again to collect their results';
  return stoppable(view, what, signal, async (s) => {
    const run = await runRedis(plan, todo, { ...o, dir, signal: s, log: view.line, onEvent: view.event });
    view.close();
    if (!s.aborted) return false;
    log(`queue ${run.queue}: ${run.interrupted.length} trial(s) left with the workers`);
    return true;
  });
}

/**
 * Run `fn` with an abort signal: the caller's, or one SIGINT / SIGTERM fire (a second one exits
 * the process with 130), saying on the view what stopping leaves behind.
 */
async function stoppable<T>(
  view: { line: (l: string) => void },
  what: string,
  given: AbortSignal | undefined,
  fn: (s: AbortSignal) => Promise<T>,
): Promise<T> {
  if (given) return fn(given);
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    view.line(`${sig}: stopping; ${what}`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The sweep's trials on util/progress.ts's LiveView: a task per trial, its steps from the schedule. */
function sweepView(name: string, todo: Trial[]) {
  const steps = (t: Trial) => trialSteps(t.config.train, t.config.data.seqLen);
  const view = new LiveView(
    `sweep ${name}`,
    todo.length,
    todo.reduce((s, t) => s + steps(t), 0),
  );
  const event = (e: SweepEvent): void => {
    const id = e.trial.id;
    const label = `${id} ${describeMeta(e.trial.meta)}`;
    if (e.type === 'start') view.start(id, label, steps(e.trial));
    else if (e.type === 'step') view.step(id, e.step, e.loss, e.tokensPerSec);
    else if (e.type === 'log') view.line(`  ${id}: ${e.line}`);
    else if (e.type === 'interrupted') view.drop(id, `interrupted ${label}`);
    else done(id, label, e.trial, e.result);
  };
  const done = (id: string, label: string, t: Trial, r: TrialResult): void => {
    const what =
      r.status === 'ok'
        ? `done ${label}: val loss ${r.valLoss?.toFixed(4)}`
        : `failed ${label}: ${r.reason}${r.message ? ': ' + r.message : ''}`;
    view.end(id, `${what} (${r.seconds.toFixed(1)} s)`, { steps: steps(t), failed: r.status !== 'ok' });
  };
  return { event, line: (l: string) => view.line(l), close: () => view.close() };
}

function summary(s: SweepStatus, log: (l: string) => void) {
  const c = s.counts;
  log(`sweep ${s.name}: ${c.done} done, ${c.failed} failed, ${c.pending + c.running} unfinished (${resolve(s.dir)})`);
  const best = s.trials
    .filter((t) => t.status === 'done' && t.valLoss !== null)
    .sort((a, b) => a.valLoss! - b.valLoss!);
  if (best.length) log('best by valLoss:');
  for (const t of best.slice(0, 5)) log(`  ${t.valLoss!.toFixed(4)}  ${t.id}  ${describeMeta(t.meta)}`);
  for (const t of s.trials.filter((t) => t.status === 'failed'))
    log(`failed: ${t.id} ${describeMeta(t.meta)}: ${t.reason}${t.message ? ': ' + t.message : ''}`);
}
