import { execFileSync } from 'node:child_process';

/**
 * Build dist/ once before the tests: CLI tests and sweep children run the compiled JS.
 * ENGRAM_SWEEP_SKIP_BUILD=1 uses dist/ as it is (when iterating on one test file).
 */
export default function setup(): void {
  if (process.env.ENGRAM_SWEEP_SKIP_BUILD === '1') return;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
