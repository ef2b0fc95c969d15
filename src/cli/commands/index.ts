import type { Command } from 'commander';
import { register as train } from './train.js';
import { register as engramHash } from './engram-hash.js';
import { register as tokenizer } from './tokenizer.js';

/** Each command file exports a function that adds itself to the program. */
export type Register = (program: Command) => void;

export const commands: Register[] = [train, tokenizer, engramHash];
