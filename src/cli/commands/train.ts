import type { Command } from 'commander';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BACKEND_CHOICES, initBackend, type BackendChoice, type BackendInfo } from '../../backend/index.js';
import { InputError, show } from '../../contract/errors.js';
import { CONFIG_FILE, RESULT_FILE } from '../../contract/files.js';
import { readResult } from '../../contract/result.js';
import { parseTrial, withoutRecorded } from '../../train/config.js';
import { trialProblem } from '../../train/precheck.js';
import { runTrial } from '../../train/trial.js';
import { trialId } from '../../train/trial-id.js';
import { readYamlOrJson } from '../../util/load.js';

/** What a finished trial folder recorded about the run: a retrain matches its BLAS threads. */
interface RecordedRun {
  file: string;
  threads: number;
  backend: string;
  native: boolean;
}

/**
 * The result.json beside a trial folder's config.json (one runTrial wrote: it carries the
 * recorded accounting), when the trial finished and recorded its threads; else undefined.
 */
function recordedRun(file: string, input: unknown): RecordedRun | undefined {
  if (basename(file) !== CONFIG_FILE || input === null || typeof input !== 'object' || !('accounting' in input))
    return undefined;
  const r = readResult(dirname(file));
  if (!r || !Number.isInteger(r.threads) || r.threads < 1) return undefined;
  return { file: join(dirname(file), RESULT_FILE), threads: r.threads, backend: r.backend, native: r.native };
}

/** BLAS threads: a whole number the addon accepts. */
function parseThreads(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024)
    throw new InputError('--threads', `${show(value)} is not a whole number from 1 to 1024`);
  return n;
}

/**
 * The trial folder must be a folder, or creatable: checked before anything loads or is written,
 * so `--out <a file>` is one line and exit 2, not an EEXIST stack trace from mkdir.
 */
function checkOutDir(dir: string, flag: string): void {
  let p = resolve(dir);
  for (;;) {
    if (existsSync(p)) {
      if (!statSync(p).isDirectory()) {
        const what =
          p === resolve(dir)
            ? `${show(dir)} exists and is not a folder`
            : `${show(p)} is a file, so ${show(dir)} cannot be a folder`;
        throw new InputError(flag, `${what}; give a folder (new or a trial folder) for the trial's files`);
      }
      try {
        accessSync(p, constants.W_OK | constants.X_OK);
      } catch {
        throw new InputError(flag, `${show(p)} is not writable`);
      }
      return;
    }
    const up = dirname(p);
    if (up === p) return;
    p = up;
  }
}

const describeRun = (b: { backend?: string; name?: string; native: boolean; threads: number }) =>
  `${b.backend ?? b.name}, native kernels ${b.native ? 'on' : 'off'}`;

export function register(program: Command): void {
  program
    .command('train')
    .description('train one model (dense, MoE, MoE + Engram, MoE + OverEncoding) from a trial config')
    .argument('<trial>', "trial config, YAML or JSON (a trial folder's config.json retrains that trial)")
    .option('--out <dir>', 'trial folder (default results/trials/<trial id>)')
    .option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join('|')}`, 'auto')
    .option(
      '--threads <n>',
      "BLAS threads of the native addon; losses are deterministic per thread count (default: for a trial folder's config.json the threads its result.json recorded, else OPENBLAS_NUM_THREADS or all cores)",
    )
    .option('--json', 'print result.json on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  engram-sweep train sweeps/trials/tiny-engram.yaml --out /tmp/tiny\n' +
        '  engram-sweep train results/examples/ushape/trials/t2959c5e3e64f5e81/config.json   (retrain, with the recorded threads)\n',
    )
    .action(async (file: string, opts: { out?: string; backend: string; threads?: string; json?: boolean }) => {
      if (!BACKEND_CHOICES.includes(opts.backend as BackendChoice)) {
        throw new InputError(
          '--backend',
          `${JSON.stringify(opts.backend)} is not one of ${BACKEND_CHOICES.join(', ')}`,
        );
      }
      const asked = opts.threads === undefined ? undefined : parseThreads(opts.threads);
      const input = readYamlOrJson(file);
      const config = parseTrial(withoutRecorded(input), file);
      // what would fail the trial before training is one line and exit 2, before --out is made
      const problem = trialProblem(config);
      if (problem) throw new InputError(file, `${show(problem.value)}: ${problem.message}`, problem.field);
      const dir = opts.out ?? join('results', 'trials', trialId(config));
      checkOutDir(dir, opts.out !== undefined ? '--out' : dir);
      const log = (l: string) => process.stderr.write(l + '\n');
      const recorded = asked === undefined ? recordedRun(file, input) : undefined;
      const threads = asked ?? recorded?.threads;
      // OpenBLAS reads OPENBLAS_NUM_THREADS once, when the addon loads (in initBackend); the
      // addon's own setter (initBackend's threads) covers an addon loaded before this
      if (threads !== undefined) process.env.OPENBLAS_NUM_THREADS = String(threads);
      if (recorded)
        log(
          `BLAS threads: ${recorded.threads}, as ${recorded.file} recorded (losses are deterministic per thread count; --threads overrides)`,
        );
      const backend: BackendInfo = await initBackend(opts.backend as BackendChoice, {
        log,
        ...(threads !== undefined ? { threads } : {}),
      });
      if (recorded && (recorded.backend !== backend.name || recorded.native !== backend.native)) {
        log(
          `note: the trial was trained on ${describeRun(recorded)} and this run is on ${describeRun(backend)}: the loss may differ in the last digits`,
        );
      }
      log(`trial ${trialId(config)} -> ${dir}`);
      const result = await runTrial(config, { dir, backend, log, progress: true });
      if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
      else
        log(
          `${result.status}: val loss ${result.valLoss?.toFixed(4)} nats (unigram baseline ${result.unigramValLoss?.toFixed(4)}), ${result.valBpb?.toFixed(4)} bits/byte, ${result.tokens} tokens in ${result.seconds.toFixed(1)} s`,
        );
      if (result.status !== 'ok') process.exitCode = 1;
    });
}
