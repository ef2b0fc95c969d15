import type { Command } from 'commander';

/** Each command file exports a function that adds itself to the program. */
export type Register = (program: Command) => void;

export const commands: Register[] = [];
