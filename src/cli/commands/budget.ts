import type { Command } from 'commander';
import { budgetRows, budgetTable } from '../../sweep/budget-table.js';
import { loadSweep } from '../../sweep/spec.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export function register(program: Command): void {
  program
    .command('budget')
    .description('print the solved allocation of every trial of a sweep: experts, slots, P_tot, P_act, P_sparse')
    .argument('<spec>', 'sweep spec (YAML)')
    .option('--set <path=value>', 'override a spec field (repeatable)', collect, [])
    .option('--json', 'print JSON rows on stdout')
    .addHelpText('after', '\nExample:\n  engram-sweep budget sweeps/ushape.yaml --json\n')
    .action((file: string, opts: { set: string[]; json?: boolean }) => {
      const plan = loadSweep(file, opts.set);
      for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
      const rows = budgetRows(plan);
      process.stdout.write(opts.json ? JSON.stringify(rows) + '\n' : budgetTable(rows) + '\n');
    });
}
