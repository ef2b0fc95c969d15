/**
 * Issue 15, "What must hold": the README's commands run as written. The commands are taken from
 * README.md's indented code blocks (so this fails when the README drifts from the CLI): every
 * line that runs `npx engram-sweep` (or pipes into it), except synopsis lines (with [options] or
 * placeholders), sweeps (`run`: minutes to hours), Redis workers, gpu.yaml and training (`train`,
 * the retrain example: minutes). They run from the checkout through npx, as a user types them,
 * with results/ paths pointed at a temporary copy, so nothing in the checkout is written.
 * `npm run notebooks` is tested in test/notebooks/serve-signal.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'readme-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Command lines of the README's indented (4-space) code blocks that run the CLI. */
function readmeCommands(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^ {4,}\S/.test(l))
    .map((l) => l.trim().replace(/\s+#.*$/, ''))
    .filter((l) => /(^|\| )npx engram-sweep /.test(l) || /^\S+=\S+ npx engram-sweep /.test(l));
}

const SKIP: [RegExp, string][] = [
  [/\[--|\bSPEC\.yaml|\bNAME\b|\bTRIAL\.yaml|\bREQ\.json|\bW\.json|\bURL\b/, 'synopsis'],
  [/ engram-sweep run /, 'a sweep'],
  [/ engram-sweep worker |--redis/, 'a Redis worker'],
  [/gpu\.yaml/, 'gpu.yaml'],
  [/ engram-sweep train /, 'training'],
];

const commands = readmeCommands(README);
const runnable = commands.filter((c) => !SKIP.some(([re]) => re.test(c)));

// results/quick is what npm start writes; here it is a copy of the committed d 96/d 128 sweep
const results = join(dir, 'results');
cpSync(join(REPO, 'results/examples/ushape'), join(results, 'quick'), { recursive: true });
cpSync(join(REPO, 'results/examples/ushape'), join(results, 'examples/ushape'), { recursive: true });
cpSync(join(REPO, 'results/examples/memory'), join(results, 'examples/memory'), { recursive: true });

describe("the README's commands, as written", () => {
  it('finds the commands the issue names', () => {
    const all = runnable.join('\n');
    for (const c of [
      'status results/quick',
      'fit results/quick',
      'report results/quick',
      'budget sweeps/quick.yaml',
      'tokenizer stats',
      'engram-hash --input -',
      'bench --which',
    ]) {
      expect(all, `README runs no "npx engram-sweep ${c}"`).toContain(c);
    }
    // the retrain example is there, as written (run by test/cli/train-threads.test.ts' kind of check, not here)
    expect(commands.join('\n')).toMatch(
      /npx engram-sweep train results\/examples\/ushape\/trials\/t[0-9a-f]{16}\/config\.json/,
    );
    // no bare engram-sweep command is left in a code block
    const bare = README.split('\n').filter((l) => /^ {4,}engram-sweep /.test(l));
    expect(bare).toEqual([]);
  });

  it.each(runnable)(
    '%s',
    (command) => {
      // results/... points at the temporary copy
      const line = command.replace(/(^|\s)results\//g, `$1${results}/`);
      const r = spawnSync('bash', ['-c', line], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      });
      expect(r.status, `${command}\n${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+\)?\n/);
      if (/ report /.test(command)) expect(existsSync(join(results, 'quick/report.html'))).toBe(true);
      if (/ fit /.test(command)) expect(r.stdout + r.stderr).toMatch(/wall|shape|U\b/i);
      if (/bench --which/.test(command)) expect(r.stdout + r.stderr).toMatch(/^backend: /m);
      if (/engram-hash/.test(command)) expect(JSON.parse(r.stdout).layers['1'].hash_ids).toBeDefined();
    },
    60_000,
  );
});
