/**
 * Issue 14, start-up: each command's file (and tfjs, wasm, bullmq, vega behind it) is imported only
 * when that command runs, so --help, --version and budget start without them; the top-level help
 * lists the commands from their declaration as data (src/cli/commands/index.ts) exactly as the
 * commands' own registration would. And main(argv) runs in process: it returns the exit code and
 * leaves process.exitCode as it was (the bin, src/cli/bin.ts, sets it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, invokedCommand, registerAllCommands, registerCommands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { CLI } from '../helpers/cli.js';

const program = () => new Command('engram-sweep').description('d').exitOverride();

describe('commands as data', () => {
  it('the top-level help from the table is the help of every command registered in full', async () => {
    const lazy = program();
    await registerCommands(lazy, ['node', 'engram-sweep', '--help']);
    const full = program();
    await registerAllCommands(full);
    expect(lazy.helpInformation()).toBe(full.helpInformation());
    expect(full.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
  });

  it('finds the invoked command, also after help and options', () => {
    expect(invokedCommand(['node', 'x', 'budget', 'a.yaml'])).toBe('budget');
    expect(invokedCommand(['node', 'x', 'help', 'run'])).toBe('run');
    expect(invokedCommand(['node', 'x', '-h'])).toBeUndefined();
  });
});

describe('start-up imports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'es-lazy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // a module hook that prints every package the process imports
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `export async function resolve(s, c, next) {
  const r = await next(s, c);
  const m = r.url.match(/node_modules\\/((@[^/]+\\/)?[^/]+)/);
  if (m) process.stderr.write('import ' + m[1] + '\\n');
  return r;
}\n`,
  );
  writeFileSync(
    join(dir, 'trace.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  const imported = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', join(dir, 'trace.mjs'), CLI, ...args], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return [
      ...new Set(
        r.stderr
          .split('\n')
          .filter((l) => l.startsWith('import '))
          .map((l) => l.slice(7)),
      ),
    ];
  };
  const heavy = /^(@tensorflow\/|bullmq$|ioredis$|vega|@resvg\/)/;

  for (const args of [['--help'], ['--version'], ['budget', 'sweeps/ushape.yaml', '--json'], ['help', 'status']]) {
    it(`engram-sweep ${args.join(' ')} imports no tfjs, wasm, bullmq or vega`, () => {
      expect(imported(args).filter((p) => heavy.test(p))).toEqual([]);
    });
  }
  it('the command that needs them still loads them (bench --help: tfjs)', () => {
    expect(imported(['bench', '--help']).filter((p) => heavy.test(p))).toContain('@tensorflow/tfjs');
  });
});

describe('main(argv) in process', () => {
  it('returns the exit code and leaves process.exitCode alone', async () => {
    const writes: string[] = [];
    const err = process.stderr.write;
    const out = process.stdout.write;
    const keep = ((s: string) => writes.push(String(s)) > 0) as typeof process.stderr.write;
    process.stderr.write = keep;
    process.stdout.write = keep;
    try {
      expect(await main(['node', 'engram-sweep', '--version'])).toBe(0);
      expect(await main(['node', 'engram-sweep', 'budget', 'missing.yaml'])).toBe(2);
      expect(await main(['node', 'engram-sweep', 'nonsense'])).toBe(2);
    } finally {
      process.stderr.write = err;
      process.stdout.write = out;
    }
    expect(process.exitCode ?? 0).toBe(0);
    expect(writes.join('')).toMatch(/missing\.yaml: file not found/);
  });
});
