/**
 * The engram-sweep CLI: one file per command in ./commands, each thin over the library.
 * JSON goes to stdout (with --json), progress and logs to stderr; bad input exits 2.
 * `main(argv)` runs one command line and returns its exit code (it never exits the process), so
 * tests can call it in process; ./bin.ts is the executable that calls it.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { InputError } from '../contract/errors.js';
import { registerCommands } from './commands/index.js';

/** The package's version, for --version. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/**
 * A reader that closes early (`engram-sweep run ... | head`) makes every later write to that pipe
 * fail with EPIPE, emitted as an 'error' event that nothing else handles: an uncaught exception
 * and a stack trace, and the work (a sweep's fits and report) would stop half done. The output is
 * then unwanted, not the work: drop it and carry on, so the command finishes and exits as usual.
 */
export function tolerateClosedReader(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

/**
 * Runs one command line (process.argv form: node, script, then the words) and returns the exit code.
 * Only the invoked command's file is imported (commands/index.ts). A command that sets
 * process.exitCode has it returned; the caller's process.exitCode is left as it was.
 */
export async function main(argv: string[]): Promise<number> {
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    return await runProgram(argv);
  } finally {
    process.exitCode = before;
  }
}

async function runProgram(argv: string[]): Promise<number> {
  const program = new Command('engram-sweep')
    .description('Sweeps of the MoE / Engram allocation (rho) and of Engram memory slots, with fits and reports')
    .version(packageVersion(), '-V, --version', 'print the version of engram-sweep')
    .exitOverride();
  // usage mistakes print one line (commander's own "error: ..."), plus a pointer to --help
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => write(s.trimEnd() + ' (see --help)\n'),
  });
  await registerCommands(program, argv);
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
