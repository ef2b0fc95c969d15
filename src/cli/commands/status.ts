import type { Command } from 'commander';
import { formatStatus, sweepStatus } from '../../sweep/status.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('where a sweep stands: done / running / failed / pending trials, last step and loss')
    .argument('<dir>', 'the sweep results folder, results/<sweep>')
    .option('--json', 'print {counts: {done, failed, running, pending}, trials: [...]} on stdout')
    .addHelpText('after', '\nExample:\n  engram-sweep status results/quick\n')
    .action((dir: string, opts: { json?: boolean }) => {
      const s = sweepStatus(dir);
      if (opts.json) process.stdout.write(JSON.stringify(s) + '\n');
      else process.stdout.write(formatStatus(s));
    });
}
