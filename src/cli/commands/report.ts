import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeReport } from '../../report/index.js';
import { writeBundle } from '../../results/bundle.js';
import { otherVersionsNote } from '../../results/table.js';

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'write results/<sweep>/report.html: the fit summary, vega-lite charts and the trial table, viewable offline',
    )
    .argument('<dir>', 'results folder of a sweep (results/<sweep>)')
    .option('--png', 'also write plots/<chart>.svg and plots/<chart>.png')
    .option('--json', 'print {html, charts, files} on stdout')
    .addHelpText('after', '\nExample:\n  engram-sweep fit results/quick && engram-sweep report results/quick --png\n')
    .action(async (dir: string, opts: { png?: boolean; json?: boolean }) => {
      const out = await writeReport(dir, { png: opts.png });
      if (existsSync(join(dir, 'sweep.json'))) writeBundle(dir); // keep the notebooks' data current
      if (opts.json) process.stdout.write(JSON.stringify(out) + '\n');
      const kb = (statSync(out.html).size / 1024).toFixed(0);
      process.stderr.write(`report: ${out.html} (${kb} KiB; charts: ${out.charts.join(', ')})\n`);
      if (opts.png) process.stderr.write(`plots: ${out.files.length - 1} files in ${dir}/plots\n`);
      const note = otherVersionsNote(dir);
      if (note) process.stderr.write(`report: ${note}\n`);
    });
}
