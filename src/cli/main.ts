#!/usr/bin/env node
/**
 * The engram-sweep CLI: one file per command in ./commands, each thin over the library.
 * JSON goes to stdout (with --json), progress and logs to stderr; bad input exits 2.
 */
import { Command, CommanderError } from 'commander';
import { InputError } from './errors.js';
import { commands } from './commands/index.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('engram-sweep')
    .description('Sweeps of the MoE / Engram allocation (rho) and of Engram memory slots, with fits and reports')
    .exitOverride();
  // usage mistakes print one line (commander's own "error: ..."), plus a pointer to --help
  program.configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(s.trimEnd() + ' (see --help)\n') });
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(`engram-sweep: ${err.line()}\n`);
      return 2;
    }
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; usage mistakes are bad input.
      if (err.exitCode === 0) return 0;
      return 2;
    }
    throw err;
  }
}

const code = await main(process.argv);
process.exitCode = code;
