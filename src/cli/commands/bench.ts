import type { Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/index.js';
import { EXTRAS, type Extra } from '../../bench/extra.js';
import {
  type BenchLine,
  formatBench,
  formatWhich,
  parseConfigs,
  runBench,
  runExtras,
  which,
} from '../../bench/index.js';
import { InputError, show } from '../errors.js';

interface Opts {
  config?: string;
  steps: string;
  threads: string;
  backend: string;
  json?: boolean;
  which?: boolean;
  peer?: boolean;
  rounds: string;
  extra?: string | boolean;
  slots: string;
}

function positiveInt(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InputError(flag, `${show(value)} must be an integer >= ${min}`);
  return n;
}

function parseExtras(v: string | boolean | undefined): Extra[] {
  if (v == null || v === false) return [];
  if (v === true) return [...EXTRAS];
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(EXTRAS as readonly string[]).includes(n))
      throw new InputError('--extra', `${show(n)} is not one of ${EXTRAS.join(', ')}`);
  }
  return names as Extra[];
}

function parseSlots(v: string): number[] {
  return v.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1)
      throw new InputError('--slots', `${show(s)} is not a positive integer (1e5 is fine)`);
    return n;
  });
}

export function register(program: Command): void {
  program
    .command('bench')
    .description(
      'training speed of the fixed configs (dense-s, moe-s, engram-s; the -m ones a size up), per-kernel profile, ' +
        'and the PyTorch peer',
    )
    .option(
      '--config <names>',
      'comma-separated: dense-s, moe-s, engram-s, dense-m, moe-m, engram-m ' +
        '(default the three -s, so a plain run keeps its cost; none with --extra alone)',
    )
    .option('--steps <n>', 'training steps per run; the median after the first two is reported', '12')
    .option('--threads <n>', 'BLAS threads (ours: OPENBLAS_NUM_THREADS; the peer: torch threads)', '1')
    .option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join('|')}`, 'auto')
    .option(
      '--json',
      'one JSON line per config: {config, backend, native, threads, steps, tokensPerSec, msPerStep, peakRssBytes, profile, ...}',
    )
    .option(
      '--which',
      'print the compute path (backend, native kernels on/off, the BLAS: library, core, threads) and exit',
    )
    .option('--peer', 'also run bench/peer_torch.py (PyTorch), alternating with ours, and print ours/peer')
    .option('--rounds <n>', 'ours/peer pairs per config with --peer (the best of each side is kept)', '2')
    .option('--extra [names]', `also measure: ${EXTRAS.join(', ')} (default all)`)
    .option('--slots <list>', 'slots per table for --extra slots', '10000,100000,1000000,10000000')
    .addHelpText(
      'after',
      '\nExamples:\n  engram-sweep bench --config dense-s --steps 12 --peer\n  engram-sweep bench --which\n  ENGRAM_SWEEP_NATIVE=0 engram-sweep bench --json   (the pure wasm path)\n',
    )
    .action(async (opts: Opts) => {
      if (!BACKEND_CHOICES.includes(opts.backend as BackendChoice)) {
        throw new InputError('--backend', `${show(opts.backend)} is not one of ${BACKEND_CHOICES.join(', ')}`);
      }
      const backend = opts.backend as BackendChoice;
      const log = (l: string) => process.stderr.write(l + '\n');
      const print = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
      if (opts.which) {
        // what was skipped on the way (a broken tfjs-node, the addon) on stderr; the answer on stdout
        const w = await which(backend, (l) => /skipp|falling back/.test(l) && log(l));
        if (opts.json) print(w);
        else process.stdout.write(formatWhich(w) + '\n');
        return;
      }
      const steps = positiveInt(opts.steps, '--steps', 3);
      const threads = positiveInt(opts.threads, '--threads');
      const rounds = positiveInt(opts.rounds, '--rounds');
      const extras = parseExtras(opts.extra);
      // --extra alone measures the extras only; name configs to have both
      const configs = opts.config == null && extras.length ? [] : parseConfigs(opts.config);
      const slots = parseSlots(opts.slots);
      const lines: BenchLine[] = await runBench(
        { configs, steps, threads, backend, peer: !!opts.peer, rounds, log },
        (l) => opts.json && print(l),
      );
      if (!opts.json && lines.length) process.stdout.write(formatBench(lines));
      if (extras.length) {
        await runExtras({ extras, steps, threads, backend, slots, log }, (l) =>
          opts.json ? print(l) : process.stdout.write(JSON.stringify(l) + '\n'),
        );
      }
    });
}
