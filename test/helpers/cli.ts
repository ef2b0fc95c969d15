/**
 * The built CLI as a child process, and the bad-input contract every command keeps: exit 2,
 * nothing on stdout, exactly one line on stderr naming what is wrong.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `engram-sweep <args>`; env replaces the environment when given. */
export function runCli(args: string[], o: { env?: NodeJS.ProcessEnv; input?: string } = {}): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, ...o });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function expectInputErrorExit(r: CliRun, pattern: RegExp): void {
  expect([r.code, r.stdout]).toEqual([2, '']);
  expect(r.stderr).toMatch(/^engram-sweep: [^\n]*\n$/);
  expect(r.stderr).toMatch(pattern);
}
