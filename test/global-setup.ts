import { execFileSync } from 'node:child_process';

/** Build dist/ once before the tests: CLI tests and sweep children run the compiled JS. */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
