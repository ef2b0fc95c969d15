import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { BACKEND_CHOICES, initBackend, type BackendChoice, type BackendInfo } from '../../backend/index.js';
import { planWorkers, runLocal, type SweepEvent } from '../../sweep/local.js';
import { CollectError, connectRedis, parseRedisUrl, runRedis } from '../../sweep/redis.js';
import { loadSweep } from '../../sweep/spec.js';
import { acquireLock, chooseResultsDir, openSweep, prepareResume, touchSweep } from '../../sweep/store.js';
import { describeMeta, sweepStatus, type SweepStatus } from '../../sweep/status.js';
import { describeSelection, parseSelection, selectTrials } from '../../sweep/select.js';
import type { SweepPlan, Trial } from '../../sweep/types.js';
import { parseTrial } from '../../train/config.js';
import { trialId } from '../../train/trial-id.js';
import { trialProblem } from '../../train/precheck.js';
import { readYamlOrJson } from '../../util/load.js';
import { formatSeconds } from '../../util/progress.js';
import { InputError, show } from '../errors.js';
import type { Redis } from 'ioredis';
import { trialSteps } from '../../train/schedule.js';

export interface AfterSweepContext {
  /** the sweep's results folder */
  dir: string;
  plan: SweepPlan;
  status: SweepStatus;
  log: (line: string) => void;
}

/**
 * Steps that run after a sweep has run to its end (not when interrupted), in order, with the
 * lock still held. The report step (fits + report.html) adds itself here.
 */
export const afterSweep: ((ctx: AfterSweepContext) => Promise<void> | void)[] = [];

interface RunOpts {
  set: string[];
  only: string[];
  workers?: string;
  backend: string;
  retryFailed?: boolean;
  results: string;
  new?: boolean;
  json?: boolean;
  plan?: boolean;
  executor: string;
  redis?: string;
  attempts: string;
  backoff: string;
}

const EXECUTORS = ['local', 'redis'];
/** What the results folder's file system says when it cannot be written (as root too: ENOTDIR, EROFS, ENOSPC, EPERM for chattr +i). */
const WRITE_ERRORS = ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EDQUOT', 'EISDIR', 'ENOENT', 'EEXIST'];

export function register(program: Command): void {
  program
    .command('run')
    .description('run a sweep, or resume it: trials already done are skipped')
    .argument('<spec>', 'sweep spec, YAML')
    .option('--set <path=value>', 'override a spec field (repeatable), e.g. --set train.steps=50', (v: string, a: string[]) => [...a, v], [])
    .option('--only <axis=value>', 'train only the trials with this coordinate (repeatable; one axis: any of the values, ' +
      'several axes: all), e.g. --only budget=d64; the rest stay pending for a later run', (v: string, a: string[]) => [...a, v], [])
    .option('--workers <n>', 'trials in parallel (default: cores, capped by the trials\' estimated memory)')
    .option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join('|')}`, 'auto')
    .option('--retry-failed', 'run failed trials again (crashed, out of memory, diverged, error)')
    .option('--results <dir>', 'results root; the sweep writes to <dir>/<sweep name>', 'results')
    .option('--new', 'do not grow <results>/<sweep> with a changed spec: use it only when free or holding this same spec, else the first of <sweep>-2, -3, ... that is')
    .option('--json', 'print the final status on stdout (the shape of status --json)')
    .option('--executor <name>', `where trials train: ${EXECUTORS.join('|')} (redis: on engram-sweep worker processes, any machine)`, 'local')
    .option('--redis <url>', 'with --executor redis: the Redis the workers use, redis://HOST:PORT')
    .option('--attempts <n>', 'with --executor redis: tries per trial (crash, out of memory, error) before it is recorded failed', '3')
    .option('--backoff <s>', 'with --executor redis: seconds before the first retry, doubling each time', '30')
    .addOption(new Option('--plan', 'internal: <spec> is an expanded sweep plan, JSON {name, specHash, spec, trials}').hideHelp())
    .addHelpText('after', '\nExamples:\n  engram-sweep run sweeps/quick.yaml --workers 2\n  engram-sweep run sweeps/quick.yaml --set train.steps=50 --new\n' +
      '  engram-sweep run sweeps/horizons.yaml --only budget=d64   (one part of a long study first)\n' +
      '  engram-sweep run sweeps/quick.yaml --executor redis --redis redis://10.0.0.5:6379   (then: engram-sweep worker --redis ...)\n')
    .action(async (file: string, opts: RunOpts) => {
      process.exitCode = await runSweep(file, opts);
    });
}

async function runSweep(file: string, opts: RunOpts): Promise<number> {
  const log = (l: string) => process.stderr.write(l + '\n');
  if (!BACKEND_CHOICES.includes(opts.backend as BackendChoice)) {
    throw new InputError('--backend', `${show(opts.backend)} is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const workers = opts.workers === undefined ? undefined : Number(opts.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) {
    throw new InputError('--workers', `${show(opts.workers)} is not a whole number of at least 1`);
  }
  if (opts.plan && opts.set.length) throw new InputError('--set', 'cannot be used with --plan (the plan is already resolved)');
  const remote = checkExecutor(opts, workers);
  const plan = opts.plan ? readPlanFile(file) : loadSweep(file, opts.set);
  for (const w of plan.warnings ?? []) log(`warning: ${w}`);
  const selection = parseSelection(opts.only ?? [], plan.trials);
  const dir = chooseResultsDir(opts.results, plan, opts.new);
  precheckPlan(file, plan, opts);
  // checked before anything is written: a missing native backend (or an unreachable Redis) is
  // one line and exit 2, not N failed trials; what the check says waits until the folder is ours,
  // so that bad input is one line
  const said: string[] = [];
  const backendInfo = remote ? undefined : await initBackend(opts.backend as BackendChoice, { log: (l) => said.push(l) });
  const connection = remote ? await connectRedis(remote.url) : undefined;
  try {
    const { release, resume } = openFolder(dir, plan, opts.retryFailed);
    said.forEach(log);
    try {
      const todo = selectTrials(resume.todo, selection);
      const only = selection.size ? ` (--only ${describeSelection(selection)}: ${todo.length} of the ${resume.todo.length} unfinished)` : '';
      log(`sweep ${plan.name} -> ${dir}: ${plan.trials.length} trials, ${resume.done.length} done, ` +
        `${resume.failed.length} failed${resume.failed.length ? ' (--retry-failed reruns them)' : ''}, ${todo.length} to run${only}`);
      resume.todo = todo;
      let interrupted = false;
      if (resume.todo.length && connection && remote) {
        interrupted = await executeRemote(dir, plan, resume.todo, { ...remote, connection, retryFailed: opts.retryFailed }, log);
      } else if (resume.todo.length) {
        interrupted = await execute(dir, plan, resume.todo, { backend: opts.backend as BackendChoice, backendInfo: backendInfo!, workers }, log);
      }
      return await finishSweep(dir, plan, interrupted, opts, log, selection.size > 0);
    } catch (e) {
      if (!(e instanceof CollectError)) throw e;
      log(`engram-sweep: ${e.message}`);
      return 1;
    } finally {
      release();
    }
  } finally {
    connection?.disconnect();
  }
}

/**
 * What would fail a trial before it trains (its corpus, its tables' rows: train/precheck.ts) is
 * checked for every trial before anything is written: one line naming the spec file (or the
 * --set) and field, exit 2, rather than a folder of failed trials. Budgets are solved, and so
 * checked, when the spec is expanded.
 */
function precheckPlan(file: string, plan: SweepPlan, opts: RunOpts): void {
  const seen = new Set<string>();
  plan.trials.forEach((t, i) => {
    const m = t.config.model;
    const key = JSON.stringify([t.config.data.corpus, m.engram ?? null, m.overEncoding ?? null]);
    if (seen.has(key)) return;
    seen.add(key);
    const p = trialProblem(t.config);
    if (!p) return;
    const what = `${show(p.value)}: ${p.message}`;
    if (opts.plan) throw new InputError(file, what, `trials[${i}].config.${p.field}`);
    if (p.field === 'data.corpus') {
      const set = [...opts.set].reverse().find((a) => /^data(\.corpus)?=/.test(a.trim()));
      if (set) throw new InputError(`--set ${set}`, what);
      throw new InputError(file, what, 'data.corpus');
    }
    // a memory's base sizes come from the budget (allocation) or the slots (memory trials)
    const budgets = (plan.spec as { budgets?: { name?: string }[] } | null)?.budgets ?? [];
    const b = budgets.findIndex((x) => x.name === t.meta.budget);
    const field = t.meta.kind === 'memory' ? 'axes.slots' : b >= 0 ? `budgets[${b}]` : 'backbone';
    throw new InputError(file, `trial ${t.id} (${describeMeta(t.meta)}): its ${p.field} ${show(p.value)} ${p.message}`, field);
  });
}

/** --executor and its options; the Redis settings when it is redis. */
function checkExecutor(opts: RunOpts, workers: number | undefined): { url: string; attempts: number; backoffMs: number } | null {
  if (!EXECUTORS.includes(opts.executor)) throw new InputError('--executor', `${show(opts.executor)} is not one of ${EXECUTORS.join(', ')}`);
  if (opts.executor === 'local') {
    if (opts.redis !== undefined) throw new InputError('--redis', 'is only used with --executor redis');
    return null;
  }
  if (opts.redis === undefined) throw new InputError('--redis', 'is required with --executor redis: give redis://HOST:PORT');
  if (workers !== undefined) throw new InputError('--workers', 'does not apply to --executor redis: start workers with engram-sweep worker --concurrency N');
  const attempts = /^[0-9]+$/.test(opts.attempts) ? Number(opts.attempts) : NaN;
  if (!(attempts >= 1 && attempts <= 100)) throw new InputError('--attempts', `${show(opts.attempts)} is not a whole number in [1, 100]`);
  const backoff = /^[0-9]*\.?[0-9]+$/.test(opts.backoff) ? Number(opts.backoff) : NaN;
  if (!(backoff >= 0 && backoff <= 86_400)) throw new InputError('--backoff', `${show(opts.backoff)} is not a number of seconds in [0, 86400]`);
  return { url: parseRedisUrl(opts.redis), attempts, backoffMs: Math.round(backoff * 1000) };
}

/**
 * Lock the folder, write sweep.json, sort its trials. A folder the file system refuses (read-only,
 * full, under a file) is one line and exit 2; writes are temp + rename, so nothing is left half-written.
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
    throw new InputError(dir, `cannot write the results folder (${code}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}); choose another with --results DIR`);
  }
}

/** Summary, exit code, and the after-sweep steps when the sweep ran to its end. */
async function finishSweep(
  dir: string, plan: SweepPlan, interrupted: boolean, opts: RunOpts, log: (l: string) => void, partial: boolean,
): Promise<number> {
  touchSweep(dir);
  const status = sweepStatus(dir);
  summary(status, log);
  if (interrupted) return 130;
  const unfinished = status.counts.pending + status.counts.running;
  // --only: the selected part ran to its end; the after-sweep steps wait for the whole sweep
  if (partial && unfinished > 0) {
    log(`--only: the selected trials are finished; ${unfinished} other trial(s) pending: run again without --only for the rest`);
    if (opts.json) process.stdout.write(JSON.stringify({ ...status, lock: null }) + '\n');
    return 0;
  }
  // a trial process stopped by SIGINT/SIGTERM from outside is unfinished, not failed
  if (unfinished > 0) return 1;
  for (const step of afterSweep) await step({ dir, plan, status, log });
  // lock: null, as status will read once this run has ended and released the folder
  if (opts.json) process.stdout.write(JSON.stringify({ ...status, lock: null }) + '\n');
  return 0;
}

/** Train the trials on the local executor; true when interrupted (SIGINT / SIGTERM). */
async function execute(
  dir: string, plan: SweepPlan, todo: Trial[],
  o: { backend: BackendChoice; backendInfo: BackendInfo; workers?: number }, log: (l: string) => void,
): Promise<boolean> {
  const { backend, backendInfo, workers } = o;
  const wp = planWorkers(todo, { workers });
  log(`workers: ${wp.workers}, OPENBLAS_NUM_THREADS=${wp.threads} per trial${wp.capped ? ` (capped: ${wp.capped})` : ''}`);
  const view = new SweepView(plan.name, todo);
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    view.line(`${sig}: stopping; the running trials are left unfinished and start again on the next run`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runLocal(todo, { dir, backend, backendInfo, workers, signal: ac.signal, onEvent: (e) => view.event(e) });
    view.close();
    return ac.signal.aborted;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Train the trials on worker processes through Redis; true when interrupted (SIGINT / SIGTERM). */
async function executeRemote(
  dir: string, plan: SweepPlan, todo: Trial[],
  o: { url: string; attempts: number; backoffMs: number; connection: Redis; retryFailed?: boolean }, log: (l: string) => void,
): Promise<boolean> {
  const view = new SweepView(plan.name, todo);
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    view.line(`${sig}: stopping; queued and running trials stay with the workers: run again to collect their results`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const run = await runRedis(plan, todo, { ...o, dir, signal: ac.signal, log: (l) => view.line(l), onEvent: (e) => view.event(e) });
    view.close();
    if (!ac.signal.aborted) return false;
    log(`queue ${run.queue}: ${run.interrupted.length} trial(s) left with the workers`);
    return true;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function summary(s: SweepStatus, log: (l: string) => void) {
  const c = s.counts;
  log(`sweep ${s.name}: ${c.done} done, ${c.failed} failed, ${c.pending + c.running} unfinished (${resolve(s.dir)})`);
  const best = s.trials.filter((t) => t.status === 'done' && t.valLoss !== null).sort((a, b) => a.valLoss! - b.valLoss!);
  if (best.length) log('best by valLoss:');
  for (const t of best.slice(0, 5)) log(`  ${t.valLoss!.toFixed(4)}  ${t.id}  ${describeMeta(t.meta)}`);
  for (const t of s.trials.filter((t) => t.status === 'failed')) log(`failed: ${t.id} ${describeMeta(t.meta)}: ${t.reason}${t.message ? ': ' + t.message : ''}`);
}

/**
 * --plan: a resolved plan as JSON (for tests and tools that expand trials themselves). Each
 * trial's config is validated and its id must be the hash of that config.
 */
export function readPlanFile(file: string): SweepPlan {
  const raw = readYamlOrJson(file) as Partial<SweepPlan> | null;
  if (!raw || typeof raw !== 'object') throw new InputError(file, 'a plan must be an object {name, specHash, spec, trials}');
  if (typeof raw.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(raw.name)) throw new InputError(file, `${show(raw.name)} is not a name (letters, digits, _ . -)`, 'name');
  if (typeof raw.specHash !== 'string' || !raw.specHash) throw new InputError(file, 'needs a specHash string', 'specHash');
  if (!Array.isArray(raw.trials) || !raw.trials.length) throw new InputError(file, 'needs a non-empty trials list', 'trials');
  const trials = raw.trials.map((t, i) => {
    const config = parseTrial(t?.config, `${file}: trials[${i}].config`);
    if (t.id !== trialId(config)) throw new InputError(file, `${show(t.id)} is not the id of its config (${trialId(config)})`, `trials[${i}].id`);
    if (!t.meta || typeof t.meta !== 'object') throw new InputError(file, 'needs meta {kind, variant, seed, ...}', `trials[${i}].meta`);
    return { id: t.id, config, meta: t.meta };
  });
  return { name: raw.name, specHash: raw.specHash, spec: raw.spec ?? null, trials, warnings: [] };
}

/**
 * Progress on stderr. A terminal gets a live block (an overall line with the ETA, then one line
 * per running trial: coordinates, step, loss, tokens/s) with finished trials printed above it;
 * elsewhere (CI logs, pipes) plain lines: start, a step line per trial every 10 s, end.
 */
class SweepView {
  private readonly tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  private readonly t0 = Date.now();
  private readonly work: number;
  private finished = 0;
  private failed = 0;
  private doneWork = 0;
  private readonly running = new Map<string, { trial: Trial; step: number; loss: number; tps: number; printed: number }>();
  private drawn = 0;
  private lastDraw = 0;

  constructor(private readonly name: string, private readonly todo: Trial[]) {
    this.work = todo.reduce((s, t) => s + trialSteps(t.config.train, t.config.data.seqLen), 0);
  }

  event(e: SweepEvent): void {
    const id = e.trial.id;
    const label = `${id} ${describeMeta(e.trial.meta)}`;
    if (e.type === 'start') {
      this.running.set(id, { trial: e.trial, step: 0, loss: NaN, tps: NaN, printed: 0 });
      if (!this.tty) this.line(`start ${label}`);
    } else if (e.type === 'step') {
      const r = this.running.get(id);
      if (!r) return;
      Object.assign(r, { step: e.step, loss: e.loss, tps: e.tokensPerSec });
      if (!this.tty && Date.now() - r.printed >= 10_000) {
        r.printed = Date.now();
        this.line(`${this.trialLine(r)} | ${this.overall()}`);
      }
    } else if (e.type === 'log') {
      this.line(`  ${id}: ${e.line}`);
    } else {
      this.running.delete(id);
      if (e.type === 'interrupted') return this.line(`interrupted ${label}`);
      this.finished++;
      this.doneWork += trialSteps(e.trial.config.train, e.trial.config.data.seqLen);
      const r = e.result;
      if (r.status !== 'ok') this.failed++;
      const what = r.status === 'ok' ? `done ${label}: val loss ${r.valLoss?.toFixed(4)}` : `failed ${label}: ${r.reason}${r.message ? ': ' + r.message : ''}`;
      this.line(`${what} (${r.seconds.toFixed(1)} s) | ${this.overall()}`);
    }
    if (this.tty && (e.type === 'start' || e.type === 'step')) this.draw(e.type === 'start');
  }

  /** A permanent line (above the live block on a terminal). */
  line(text: string): void {
    this.clear();
    process.stderr.write(text + '\n');
    if (this.tty) this.draw(true);
  }

  close(): void {
    this.clear();
  }

  private trialLine(r: { trial: Trial; step: number; loss: number; tps: number }): string {
    const loss = Number.isFinite(r.loss) ? r.loss.toFixed(3) : '-';
    const tps = Number.isFinite(r.tps) ? Math.round(r.tps) : '-';
    return `${r.trial.id} ${describeMeta(r.trial.meta)}  step ${r.step}/${trialSteps(r.trial.config.train, r.trial.config.data.seqLen)}  loss ${loss}  ${tps} tok/s`;
  }

  /** Finished / total, and the ETA from the steps done so far (setup time included). */
  private overall(): string {
    const done = this.doneWork + [...this.running.values()].reduce((s, r) => s + r.step, 0);
    const elapsed = (Date.now() - this.t0) / 1000;
    const eta = done > 0 ? (elapsed * (this.work - done)) / done : NaN;
    const failed = this.failed ? ` (${this.failed} failed)` : '';
    return `${this.finished}/${this.todo.length} finished${failed}, ${this.running.size} running` + (Number.isFinite(eta) ? `, ETA ${formatSeconds(eta)}` : '');
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = process.stderr.columns || 120;
    const lines = [`sweep ${this.name}: ${this.overall()}`, ...[...this.running.values()].map((r) => '  ' + this.trialLine(r))];
    const up = this.drawn ? `\x1b[${this.drawn}A\r` : '';
    process.stderr.write(up + lines.map((l) => `\x1b[2K${l.slice(0, width - 1)}\n`).join('') + '\x1b[J');
    this.drawn = lines.length;
  }

  private clear(): void {
    if (!this.tty || !this.drawn) return;
    process.stderr.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }
}
