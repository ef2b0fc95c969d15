import type { Command } from 'commander';
import { join } from 'node:path';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../../backend/index.js';
import { parseTrial, withoutRecorded } from '../../train/config.js';
import { runTrial } from '../../train/trial.js';
import { readYamlOrJson } from '../../util/load.js';
import { InputError } from '../errors.js';
import { trialId } from '../../train/trial-id.js';

export function register(program: Command): void {
  program
    .command('train')
    .description('train one model (dense, MoE, MoE + Engram, MoE + OverEncoding) from a trial config')
    .argument('<trial>', 'trial config, YAML or JSON (a trial folder\'s config.json retrains that trial)')
    .option('--out <dir>', 'trial folder (default results/trials/<trial id>)')
    .option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join('|')}`, 'auto')
    .option('--json', 'print result.json on stdout')
    .addHelpText('after', '\nExample:\n  engram-sweep train sweeps/trials/tiny-engram.yaml --out /tmp/tiny\n')
    .action(async (file: string, opts: { out?: string; backend: string; json?: boolean }) => {
      if (!BACKEND_CHOICES.includes(opts.backend as BackendChoice)) {
        throw new InputError('--backend', `${JSON.stringify(opts.backend)} is not one of ${BACKEND_CHOICES.join(', ')}`);
      }
      const config = parseTrial(withoutRecorded(readYamlOrJson(file)), file);
      const log = (l: string) => process.stderr.write(l + '\n');
      const backend = await initBackend(opts.backend as BackendChoice, { log });
      const dir = opts.out ?? join('results', 'trials', trialId(config));
      log(`trial ${trialId(config)} -> ${dir}`);
      const result = await runTrial(config, { dir, backend, log, progress: true });
      if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
      else log(`${result.status}: val loss ${result.valLoss?.toFixed(4)} nats (unigram baseline ${result.unigramValLoss?.toFixed(4)}), ${result.valBpb?.toFixed(4)} bits/byte, ${result.tokens} tokens in ${result.seconds.toFixed(1)} s`);
      if (result.status !== 'ok') process.exitCode = 1;
    });
}
