import type { Command } from 'commander';
import '../after-sweep.js';
import { register as bench } from './bench.js';
import { register as budget } from './budget.js';
import { register as engramForward } from './engram-forward.js';
import { register as engramHash } from './engram-hash.js';
import { register as fit } from './fit.js';
import { register as report } from './report.js';
import { register as run } from './run.js';
import { register as status } from './status.js';
import { register as tokenizer } from './tokenizer.js';
import { register as train } from './train.js';
import { register as worker } from './worker.js';

/** Each command file exports a function that adds itself to the program. */
export type Register = (program: Command) => void;

export const commands: Register[] = [run, status, budget, train, fit, report, tokenizer, engramHash, engramForward, worker, bench];
