/**
 * Issue 15, item 8: `npm run notebooks` shows the results the user points it at
 * (ENGRAM_SWEEP_RESULTS or `-- --results DIR`), serves them, and a SIGTERM to npm stops the
 * server and every process it started: the port is free and no process is left. A real npm, a
 * real build, a real HTTP request.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(REPO, 'notebooks/build.mjs');
const SOURCE = 'results/examples/memory';
const dir = mkdtempSync(join(tmpdir(), 'nb-signal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** pids of live processes whose command line mentions `marker` (our temp folder). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (cmd.includes(marker) && !/\) Z /.test(stat)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('npm run notebooks', () => {
  it('--help names ENGRAM_SWEEP_RESULTS', () => {
    const r = spawnSync(process.execPath, [BUILD, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ENGRAM_SWEEP_RESULTS=DIR/);
  });

  it('serves the results ENGRAM_SWEEP_RESULTS names; SIGTERM to npm stops the server and all its processes', async () => {
    expect(existsSync(join(REPO, SOURCE, 'sweep.json'))).toBe(true);
    const root = join(dir, 'root');
    const out = join(dir, 'out');
    const npm = spawn('npm', ['run', 'notebooks', '--', '--root', root, '--out', out, '--port', '0'], {
      cwd: REPO,
      env: { ...process.env, ENGRAM_SWEEP_RESULTS: SOURCE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    npm.stdout.on('data', (b) => (stdout += b));
    npm.stderr.on('data', (b) => (stderr += b));
    const exited = new Promise<number | null>((res) => npm.on('exit', (code) => res(code)));
    const t0 = Date.now();
    while (!/http:\/\/127\.0\.0\.1:\d+\//.test(stdout) && Date.now() - t0 < 90_000 && npm.exitCode === null)
      await sleep(200);
    const url = stdout.match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0];
    expect(url, stderr).toBeDefined();
    const port = Number(new URL(url!).port);
    // both notebooks read the folder the variable names
    expect(stderr).toContain(`data/ushape.json: 30 trials from ${SOURCE}`);
    expect(stderr).toContain(`data/memory.json: 30 trials from ${SOURCE}`);
    const page = await fetch(url + 'memory.html');
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html|<!doctype/i);
    expect(processesWith(dir).length).toBeGreaterThanOrEqual(2); // npm, (sh,) node
    expect(await listening(port)).toBe(true);

    npm.kill('SIGTERM');
    await exited;
    const t1 = Date.now();
    while ((processesWith(dir).length || (await listening(port))) && Date.now() - t1 < 8000) await sleep(100);
    expect(processesWith(dir), 'processes left after SIGTERM').toEqual([]);
    expect(await listening(port)).toBe(false);
  }, 120_000);
});
