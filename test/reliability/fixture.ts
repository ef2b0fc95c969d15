/**
 * Shared pieces of the reliability suite: tiny trials (a few steps, ~1-3 s each), plans for the
 * hidden `run --plan` option, CLI processes with captured stderr, and the checks every scenario
 * ends with: each trial finished once, every result.json valid, no temp files, no orphans.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { defaultCorpusDir } from '../../src/data/corpus.js';
import type { SweepPlan, Trial } from '../../src/sweep/types.js';
import { parseTrial } from '../../src/train/config.js';
import { trialId } from '../../src/train/trial-id.js';
import { RedisServer } from '../helpers/redis-server.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO, 'dist/cli/bin.js');

/** The argv (after node) that runs `engram-sweep <command> <args>`. */
export function cli(command: string, ...args: string[]): string[] {
  return [CLI, command, ...args];
}

/** Three small Gutenberg books: the tokenizer and data take about a second. */
export function makeCorpus(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['carroll-alice.txt', 'blake-poems.txt', 'burgess-busterbrown.txt']) {
    writeFileSync(join(dir, f), readFileSync(join(defaultCorpusDir(), f)));
  }
  return dir;
}

export interface TinyOptions {
  steps?: number;
  lr?: number;
  /** a dense FFN instead of MoE (MoE + NaN trips a shape error before the loss shows it) */
  dense?: boolean;
  baseSizes?: number[];
  corpus?: string;
}

/** An Engram trial of a 2-layer, d=32 model: ~0.1 s a step on wasm. */
export function tinyTrial(corpus: string, seed: number, o: TinyOptions = {}): Trial {
  const config = parseTrial(
    {
      data: { corpus: o.corpus ?? corpus, vocabSize: 512, seqLen: 32, valTokens: 2048, valFraction: 0.1 },
      model: {
        dModel: 32,
        nLayers: 2,
        nHeads: 2,
        ...(o.dense ? { ffnHidden: 64 } : { moe: { shared: 1, routed: 4, topK: 2, expertHidden: 16 } }),
        engram: {
          layerIds: [1],
          maxNgram: 3,
          headsPerNgram: 2,
          dimPerNgram: 16,
          baseSizes: o.baseSizes ?? [3000, 3000],
        },
      },
      train: { steps: o.steps ?? 12, batchSize: 8, warmup: 2, lr: o.lr ?? 1e-2, logEvery: 1, seed },
    },
    'test',
  );
  return {
    id: trialId(config),
    config,
    meta: { kind: 'allocation', variant: 'engram', seed, budget: 'tiny', rho: 0.5 },
  };
}

export function writePlan(file: string, name: string, trials: Trial[]): SweepPlan {
  const plan: SweepPlan = {
    name,
    specHash: `${name}-${trials
      .map((t) => t.id)
      .join('')
      .slice(0, 24)}`,
    spec: { test: name },
    trials,
    warnings: [],
  };
  writeFileSync(file, JSON.stringify(plan));
  return plan;
}

export interface Proc {
  child: ChildProcess;
  /** stderr so far */
  log: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

/** A CLI process (argv from cli()) with stdout/stderr captured; env adds to process.env. */
export function start(argv: string[], o: { cwd?: string; env?: Record<string, string>; shell?: string } = {}): Proc {
  const child = o.shell
    ? spawn('/bin/sh', ['-c', `${o.shell} exec "$0" "$@"`, process.execPath, ...argv], {
        cwd: o.cwd,
        env: { ...process.env, ...o.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, argv, {
        cwd: o.cwd,
        env: { ...process.env, ...o.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, log: () => err, stdout: () => out, exited };
}

/** Run a CLI command to its end. */
export function runCli(argv: string[], o: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, argv, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * The exit code of `p` once it ends within `ms`; otherwise fail with the logs of `p` and of the
 * processes in `also` (a hang in CI then says where it stopped instead of only "timed out").
 */
export async function exitedWithin(p: Proc, ms: number, also: Record<string, Proc> = {}): Promise<number | null> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (t = setTimeout(() => r('late'), ms)));
  const code = await Promise.race([p.exited, late]);
  clearTimeout(t);
  if (code !== 'late') return code;
  const logs = Object.entries({ process: p, ...also }).map(([k, q]) => `--- ${k} stderr:\n${q.log()}`);
  throw new Error(`still running after ${ms} ms\n${logs.join('\n')}`);
}

export const trialPath = (sweepDir: string, id: string, f = '') => join(sweepDir, 'trials', id, f);
export const hasResult = (sweepDir: string, id: string) => existsSync(trialPath(sweepDir, id, 'result.json'));

/** Trial ids a CLI log (run or worker) says it started, in order (repeats kept). */
export const startedIn = (log: string) => [...log.matchAll(/^start (t[0-9a-f]{16})/gm)].map((m) => m[1]);

/** Live processes whose command line mentions `marker` (a test's own folder). */
export function processesWith(marker: string): string[] {
  return spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo'));
}

/** Every file under dir whose name ends in .tmp (a writer killed between write and rename). */
export const tempFiles = (dir: string) =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp')) : [];

/**
 * The end state every scenario asserts: each trial has a valid result.json of the expected
 * status; an ok trial's metrics hold steps 1..N exactly once (one clean run, nothing appended by
 * a second); no temp files; sweep.json lists them all.
 */
export function expectSweepComplete(
  sweepDir: string,
  trials: Trial[],
  status: Record<string, 'ok' | string> = {},
): void {
  for (const t of trials) {
    const text = readFileSync(trialPath(sweepDir, t.id, 'result.json'), 'utf8');
    const r = JSON.parse(text);
    const want = status[t.id] ?? 'ok';
    if (want === 'ok') {
      expect(r, t.id).toMatchObject({
        status: 'ok',
        tokens: t.config.train.steps * t.config.train.batchSize * t.config.data.seqLen,
      });
      expect(Number.isFinite(r.valLoss)).toBe(true);
      const steps = readFileSync(trialPath(sweepDir, t.id, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).step);
      expect(steps, t.id).toEqual(Array.from({ length: t.config.train.steps }, (_, k) => k + 1));
      expect(JSON.parse(readFileSync(trialPath(sweepDir, t.id, 'config.json'), 'utf8')).meta).toEqual(t.meta);
    } else {
      expect(r, t.id).toMatchObject({ status: 'failed', reason: want, valLoss: null });
    }
  }
  expect(tempFiles(sweepDir)).toEqual([]);
  expect(
    JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8'))
      .trials.map((t: { id: string }) => t.id)
      .sort(),
  ).toEqual(trials.map((t) => t.id).sort());
}

/** Worker flags that notice a dead worker within ~3 s (the defaults are sized for long trials). */
export const FAST_WORKER = ['--lock-duration', '2', '--stalled-interval', '1', '--poll', '0.3', '--backend', 'wasm'];

/** A Redis test's world: a temp root with a corpus, a temp dir for workers, a real redis-server. */
export interface RedisSandbox {
  root: string;
  corpus: string;
  wtmp: string;
  redis: RedisServer;
}

export async function openRedisSandbox(prefix: string): Promise<RedisSandbox> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const wtmp = join(root, 'tmp');
  mkdirSync(wtmp);
  return { root, corpus: makeCorpus(join(root, 'corpus')), wtmp, redis: await RedisServer.start() };
}

/** Kill what the test started, stop the server, remove the root. */
export async function closeRedisSandbox(box: Partial<RedisSandbox>, procs: Proc[]): Promise<void> {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await box.redis?.stop();
  if (box.root) rmSync(box.root, { recursive: true, force: true });
}
