import type { Command } from 'commander';
import { register as budget } from './budget.js';
import { register as train } from './train.js';

/** Each command file exports a function that adds itself to the program. */
export type Register = (program: Command) => void;

export const commands: Register[] = [budget, train];
