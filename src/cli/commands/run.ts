/**
 * `engram-sweep run`: parse the options, call the sweep library (sweep/run.ts runSweep, with the
 * fits and report as its after steps), map the outcome to an exit code: 0 finished (or the --only
 * part), 1 unfinished or a result that could not be collected, 130 interrupted, 2 bad input (main.ts).
 */
import { Option, type Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/index.js';
import { readPlanFile } from '../../sweep/plan-file.js';
import { parseRedisUrl } from '../../sweep/redis/connection.js';
import { CollectError } from '../../sweep/redis/coordinator.js';
import { runSweep, type SweepExecutor, type SweepOutcome } from '../../sweep/run.js';
import { parseSelection } from '../../sweep/select.js';
import { loadSweep } from '../../sweep/spec.js';
import { describeMeta } from '../../sweep/status.js';
import { chooseResultsDir } from '../../sweep/store.js';
import type { SweepPlan } from '../../sweep/types.js';
import { trialProblem } from '../../train/precheck.js';
import { AFTER_SWEEP } from '../after-sweep.js';
import { InputError, show } from '../errors.js';

export { readPlanFile };
export type { AfterSweepContext } from '../../sweep/run.js';

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
const EXIT: Record<SweepOutcome, number> = { finished: 0, partial: 0, interrupted: 130, unfinished: 1 };

export function register(program: Command): void {
  program
    .command('run')
    .description('run a sweep, or resume it: trials already done are skipped')
    .argument('<spec>', 'sweep spec, YAML')
    .option(
      '--set <path=value>',
      'override a spec field (repeatable), e.g. --set train.steps=50',
      (v: string, a: string[]) => [...a, v],
      [],
    )
    .option(
      '--only <axis=value>',
      'train only the trials with this coordinate (repeatable; one axis: any of the values, ' +
        'several axes: all), e.g. --only budget=d64; the rest stay pending for a later run',
      (v: string, a: string[]) => [...a, v],
      [],
    )
    .option('--workers <n>', "trials in parallel (default: cores, capped by the trials' estimated memory)")
    .option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join('|')}`, 'auto')
    .option('--retry-failed', 'run failed trials again (crashed, out of memory, diverged, error)')
    .option('--results <dir>', 'results root; the sweep writes to <dir>/<sweep name>', 'results')
    .option(
      '--new',
      'do not grow <results>/<sweep> with a changed spec: use it only when free or holding this same spec, else the first of <sweep>-2, -3, ... that is',
    )
    .option('--json', 'print the final status on stdout (the shape of status --json)')
    .option(
      '--executor <name>',
      `where trials train: ${EXECUTORS.join('|')} (redis: on engram-sweep worker processes, any machine)`,
      'local',
    )
    .option('--redis <url>', 'with --executor redis: the Redis the workers use, redis://HOST:PORT')
    .option(
      '--attempts <n>',
      'with --executor redis: tries per trial (crash, out of memory, error) before it is recorded failed',
      '3',
    )
    .option('--backoff <s>', 'with --executor redis: seconds before the first retry, doubling each time', '30')
    .addOption(
      new Option(
        '--plan',
        'internal: <spec> is an expanded sweep plan, JSON {name, specHash, spec, trials}',
      ).hideHelp(),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  engram-sweep run sweeps/quick.yaml --workers 2\n  engram-sweep run sweeps/quick.yaml --set train.steps=50 --new\n' +
        '  engram-sweep run sweeps/horizons.yaml --only budget=d64   (one part of a long study first)\n' +
        '  engram-sweep run sweeps/quick.yaml --executor redis --redis redis://10.0.0.5:6379   (then: engram-sweep worker --redis ...)\n',
    )
    .action(async (file: string, opts: RunOpts) => {
      process.exitCode = await run(file, opts);
    });
}

async function run(file: string, opts: RunOpts): Promise<number> {
  const log = (l: string) => process.stderr.write(l + '\n');
  if (!BACKEND_CHOICES.includes(opts.backend as BackendChoice)) {
    throw new InputError('--backend', `${show(opts.backend)} is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const workers = opts.workers === undefined ? undefined : Number(opts.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) {
    throw new InputError('--workers', `${show(opts.workers)} is not a whole number of at least 1`);
  }
  if (opts.plan && opts.set.length)
    throw new InputError('--set', 'cannot be used with --plan (the plan is already resolved)');
  const remote = checkExecutor(opts, workers);
  const plan = opts.plan ? readPlanFile(file) : loadSweep(file, opts.set);
  for (const w of plan.warnings ?? []) log(`warning: ${w}`);
  const selection = parseSelection(opts.only ?? [], plan.trials);
  const dir = chooseResultsDir(opts.results, plan, opts.new);
  precheckPlan(file, plan, opts);
  const executor: SweepExecutor = remote
    ? { kind: 'redis', ...remote }
    : { kind: 'local', backend: opts.backend as BackendChoice, workers };
  try {
    const { outcome, status } = await runSweep(plan, {
      dir,
      executor,
      retryFailed: opts.retryFailed,
      selection,
      after: AFTER_SWEEP,
      log,
    });
    // lock: null, as status will read once this run has ended and released the folder
    if (opts.json && (outcome === 'finished' || outcome === 'partial'))
      process.stdout.write(JSON.stringify({ ...status, lock: null }) + '\n');
    return EXIT[outcome];
  } catch (e) {
    if (!(e instanceof CollectError)) throw e;
    log(`engram-sweep: ${e.message}`);
    return 1;
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
    // what the checks read: the corpus, the tables, and what the memory estimate depends on
    const key = JSON.stringify([t.config.data.corpus, m, t.config.train.batchSize, t.config.data.seqLen]);
    if (seen.has(key)) return;
    seen.add(key);
    // remote workers' memory is theirs, not this machine's
    const p = trialProblem(t.config, { memory: opts.executor !== 'redis' });
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
    throw new InputError(
      file,
      `trial ${t.id} (${describeMeta(t.meta)}): its ${p.field} ${show(p.value)} ${p.message}`,
      field,
    );
  });
}

/** --executor and its options; the Redis settings when it is redis. */
function checkExecutor(
  opts: RunOpts,
  workers: number | undefined,
): { url: string; attempts: number; backoffMs: number } | null {
  if (!EXECUTORS.includes(opts.executor))
    throw new InputError('--executor', `${show(opts.executor)} is not one of ${EXECUTORS.join(', ')}`);
  if (opts.executor === 'local') {
    if (opts.redis !== undefined) throw new InputError('--redis', 'is only used with --executor redis');
    return null;
  }
  if (opts.redis === undefined)
    throw new InputError('--redis', 'is required with --executor redis: give redis://HOST:PORT');
  if (workers !== undefined)
    throw new InputError(
      '--workers',
      'does not apply to --executor redis: start workers with engram-sweep worker --concurrency N',
    );
  const attempts = /^[0-9]+$/.test(opts.attempts) ? Number(opts.attempts) : NaN;
  if (!(attempts >= 1 && attempts <= 100))
    throw new InputError('--attempts', `${show(opts.attempts)} is not a whole number in [1, 100]`);
  const backoff = /^[0-9]*\.?[0-9]+$/.test(opts.backoff) ? Number(opts.backoff) : NaN;
  if (!(backoff >= 0 && backoff <= 86_400))
    throw new InputError('--backoff', `${show(opts.backoff)} is not a number of seconds in [0, 86400]`);
  return { url: parseRedisUrl(opts.redis), attempts, backoffMs: Math.round(backoff * 1000) };
}
