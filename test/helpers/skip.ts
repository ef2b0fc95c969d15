/**
 * Every skipped test says why, in one line on stderr, with what to install for it to run:
 * `it.skipIf(skipBecause(cond, what, why, install))`. Returns cond, so it is vitest's skipIf
 * argument; prints only when cond is true (once per call: call it once per skipped test).
 */
export function skipBecause(skip: boolean, what: string, why: string, install: string): boolean {
  if (skip) process.stderr.write(`skipped ${what}: ${why} (${install})\n`);
  return skip;
}

export const INSTALL_CHROMIUM = 'apt-get install chromium';
export const INSTALL_NATIVE = 'apt-get install libopenblas-dev, then npm run build:native';
