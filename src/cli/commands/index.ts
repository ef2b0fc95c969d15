import { Option, type Command } from 'commander';

/** Each command file exports a function that adds itself to the program. */
export type Register = (program: Command) => void;

/**
 * The commands, declared as data: what the top-level help lists, and how to load the command's
 * file. A command's file (and what it imports: tfjs, wasm, bullmq, vega) is imported only when that
 * command runs or its own help is asked for, so `--help`, `--version` and the light commands start
 * without them. `args`, `options` and `description` must match the command's own declaration:
 * test/cli/lazy-commands.test.ts checks that the top-level help is the same either way.
 */
export interface CommandEntry {
  name: string;
  /** its arguments as the help writes them, e.g. '<spec>' */
  args: string[];
  /** whether it has options (the help then writes "[options]") */
  options: boolean;
  description: string;
  load: () => Promise<Register>;
}

export const COMMANDS: CommandEntry[] = [
  {
    name: 'run',
    args: ['<spec>'],
    options: true,
    description: 'run a sweep, or resume it: trials already done are skipped',
    // after-sweep adds the fits, report and bundle to every run (a side effect on run's list)
    load: async () => {
      await import('../after-sweep.js');
      return (await import('./run.js')).register;
    },
  },
  {
    name: 'status',
    args: ['<dir>'],
    options: true,
    description: 'where a sweep stands: done / running / failed / pending trials, last step and loss',
    load: async () => (await import('./status.js')).register,
  },
  {
    name: 'budget',
    args: ['<spec>'],
    options: true,
    description: 'print the solved allocation of every trial of a sweep: experts, slots, P_tot, P_act, P_sparse',
    load: async () => (await import('./budget.js')).register,
  },
  {
    name: 'train',
    args: ['<trial>'],
    options: true,
    description: 'train one model (dense, MoE, MoE + Engram, MoE + OverEncoding) from a trial config',
    load: async () => (await import('./train.js')).register,
  },
  {
    name: 'fit',
    args: ['<source>'],
    options: true,
    description:
      'fit the allocation curve per budget and horizon (walls, shape, rho*, vertex with a bootstrap interval) ' +
      'or the memory power law in slots',
    load: async () => (await import('./fit.js')).register,
  },
  {
    name: 'report',
    args: ['<dir>'],
    options: true,
    description:
      'write results/<sweep>/report.html: the fit summary, vega-lite charts and the trial table, viewable offline',
    load: async () => (await import('./report.js')).register,
  },
  {
    name: 'tokenizer',
    args: [],
    options: false,
    description: "tokenizer compression stats (docs/SPEC.md section 1) and the suite's byte-level BPE",
    load: async () => (await import('./tokenizer.js')).register,
  },
  {
    name: 'engram-hash',
    args: [],
    options: true,
    description:
      'compressed ids, multipliers, prime table sizes and n-gram hash ids of a request, as the Engram reference ' +
      'computes them (docs/SPEC.md section 6)',
    load: async () => (await import('./engram-hash.js')).register,
  },
  {
    name: 'engram-forward',
    args: [],
    options: true,
    description:
      'one Engram layer in float64 on reference weights (docs/SPEC.md section 6); prints {gates, value, engram_out}',
    load: async () => (await import('./engram-forward.js')).register,
  },
  {
    name: 'worker',
    args: [],
    options: true,
    description:
      'train trials of sweeps run with --executor redis: pulls them from Redis, returns results through the jobs',
    load: async () => (await import('./worker.js')).register,
  },
  {
    name: 'bench',
    args: [],
    options: true,
    description:
      'training speed of the fixed configs (dense-s, moe-s, engram-s; the -m ones a size up), per-kernel profile, and the PyTorch peer',
    load: async () => (await import('./bench.js')).register,
  },
];

/**
 * The command that `argv` (process.argv form) runs or asks help for: the first word that is not an
 * option (the program's own options, -V and -h, take no value), or the one after `help`.
 */
export function invokedCommand(argv: readonly string[]): string | undefined {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * Adds every command to the program: the invoked one loaded and registered in full, the others as
 * stubs that carry only what the top-level help lists.
 */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const invoked = invokedCommand(argv);
  for (const entry of COMMANDS) {
    if (entry.name === invoked) (await entry.load())(program);
    else addStub(program, entry);
  }
}

/** Loads and registers every command in full (what the start-up did before it was lazy). */
export async function registerAllCommands(program: Command): Promise<void> {
  for (const entry of COMMANDS) (await entry.load())(program);
}

function addStub(program: Command, entry: CommandEntry): void {
  const stub = program.command(entry.name).description(entry.description);
  for (const a of entry.args) stub.argument(a);
  if (entry.options) stub.addOption(new Option('--stub', 'not loaded').hideHelp());
  stub.action(() => {
    throw new Error(`engram-sweep: command ${entry.name} ran without being loaded`);
  });
}
