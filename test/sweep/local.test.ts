import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCorpusDir } from '../../src/data/corpus.js';
import { account } from '../../src/model/accounting.js';
import {
  crashReason,
  estimateRss,
  nextToStart,
  planWorkers,
  runLocal,
  type SweepEvent,
} from '../../src/sweep/local.js';
import { readResult, trialDir } from '../../src/sweep/store.js';
import type { Trial } from '../../src/sweep/types.js';
import { parseTrial } from '../../src/train/config.js';
import { modelConfig } from '../../src/train/model-config.js';
import { trialId } from '../../src/train/trial-id.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

// three Gutenberg books: tokenizer and data take a second (see test/train/trial.test.ts)
const base = mkdtempSync(join(tmpdir(), 'es-local-'));
const corpusDir = mkdtempSync(join(base, 'corpus-'));
for (const f of ['carroll-alice.txt', 'blake-poems.txt', 'burgess-busterbrown.txt']) {
  writeFileSync(join(corpusDir, f), readFileSync(join(defaultCorpusDir(), f)));
}

const tiny = (seed: number, o: { steps?: number; corpus?: string; baseSizes?: number[] } = {}): Trial => {
  const config = parseTrial(
    {
      data: { corpus: o.corpus ?? corpusDir, vocabSize: 512, seqLen: 32, valTokens: 2048, valFraction: 0.1 },
      model: {
        dModel: 32,
        nLayers: 2,
        nHeads: 2,
        moe: { shared: 1, routed: 4, topK: 2, expertHidden: 16 },
        engram: {
          layerIds: [1],
          maxNgram: 3,
          headsPerNgram: 2,
          dimPerNgram: 16,
          baseSizes: o.baseSizes ?? [3000, 3000],
        },
      },
      train: { steps: o.steps ?? 12, batchSize: 8, warmup: 2, lr: 1e-2, logEvery: 1, seed },
    },
    'test',
  );
  return {
    id: trialId(config),
    config,
    meta: { kind: 'allocation', variant: 'engram', seed, budget: 'tiny', rho: 0.5 },
  };
};
const backendInfo = { name: 'wasm', native: false, threads: 1 };

// trial processes run dist/sweep/child.js, built by test/global-setup.ts
beforeAll(() => {
  if (!existsSync(join(REPO, 'dist/sweep/child.js'))) throw new Error('dist/ is not built: npx tsc -p tsconfig.json');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('memory estimate and workers', () => {
  it('tables cost 12 bytes per parameter; a tiny trial sits a little above the 300 MB base', () => {
    const a = tiny(0);
    const b = tiny(0, { baseSizes: [30000, 30000] });
    const pt = (t: Trial) => account(modelConfig(t.config)).pTables;
    expect(pt(b)).toBeGreaterThan(pt(a) * 9);
    expect(estimateRss(b.config) - estimateRss(a.config)).toBeCloseTo(12 * (pt(b) - pt(a)), 0);
    expect(estimateRss(a.config)).toBeGreaterThan(300e6);
    expect(estimateRss(a.config)).toBeLessThan(320e6);
  });

  it('workers: as asked, capped by the trial count and by memory; threads = cores / workers', () => {
    const trials = [tiny(0), tiny(1), tiny(2), tiny(3), tiny(4)];
    const est = estimateRss(trials[0].config);
    expect(planWorkers(trials, { workers: 3, cores: 16, memory: 1e12 })).toMatchObject({ workers: 3, threads: 5 });
    expect(planWorkers(trials, { cores: 4, memory: 1e12 })).toMatchObject({ workers: 4, threads: 1 });
    expect(planWorkers(trials.slice(0, 2), { workers: 8, cores: 8, memory: 1e12 })).toMatchObject({
      workers: 2,
      threads: 4,
    });
    // a worker running jobs side by side asks for its share explicitly (one trial per runLocal)
    expect(planWorkers(trials.slice(0, 1), { workers: 1, cores: 8, memory: 1e12, threads: 2 })).toMatchObject({
      workers: 1,
      threads: 2,
    });
    const capped = planWorkers(trials, { workers: 8, cores: 8, memory: 2.5 * est });
    expect(capped).toMatchObject({ workers: 2, threads: 4 });
    expect(capped.capped).toMatch(/2 worker\(s\)/);
    expect(planWorkers(trials, { workers: 8, cores: 8, memory: est / 2 })).toMatchObject({ workers: 1, threads: 8 });
  });

  it('starts the first pending trial that fits beside the running ones; a huge one runs alone', () => {
    expect(nextToStart([5, 1], [], 2, 4)).toBe(0); // nothing running: even 5 > 4 starts
    expect(nextToStart([5, 1], [3], 2, 4)).toBe(1); // 3 + 5 > 4, 3 + 1 fits
    expect(nextToStart([5, 2], [3], 2, 4)).toBe(-1);
    expect(nextToStart([1], [1, 1], 2, 100)).toBe(-1); // all workers busy
  });

  it('classifies deaths: V8 heap limit is oom, anything else crashed', () => {
    expect(
      crashReason(
        null,
        'SIGABRT',
        '<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n',
      ),
    ).toEqual({ reason: 'oom', message: 'killed by SIGABRT: JavaScript heap out of memory' });
    expect(crashReason(null, 'SIGKILL', '', 2 ** 31)).toEqual({
      reason: 'crashed',
      message: "killed by SIGKILL without result.json (last RSS 2.0 GB; the kernel's OOM killer?)",
    });
    expect(crashReason(3, null, 'warn\nboom\n')).toEqual({
      reason: 'crashed',
      message: 'exited with code 3 without result.json: boom',
    });
  });
});

describe('runLocal', () => {
  it('4 trials on 2 workers: two ok, one error, one crash; the sweep goes on', async () => {
    const dir = mkdtempSync(join(base, 'run-'));
    const trials = [tiny(0), tiny(1, { corpus: join(corpusDir, 'missing') }), tiny(2), tiny(3)];
    const crashId = trials[2].id;
    const events: SweepEvent[] = [];
    const env = new Map<string, string>();
    let live = 0;
    let maxLive = 0;
    const run = await runLocal(trials, {
      dir,
      backend: 'wasm',
      backendInfo,
      workers: 2,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'start') {
          maxLive = Math.max(maxLive, ++live);
          env.set(e.trial.id, readFileSync(`/proc/${e.pid}/environ`, 'utf8'));
        }
        if (e.type === 'end') live--;
        // a real crash: the process dies mid-training, as a segfault or the OOM killer would
        if (e.type === 'step' && e.trial.id === crashId && e.step === 2)
          process.kill(pidOf(events, crashId), 'SIGKILL');
      },
    });
    expect(maxLive).toBe(2);
    expect(run.interrupted).toEqual([]);
    const status = trials.map((t) => [run.results.get(t.id)?.status, run.results.get(t.id)?.reason]);
    expect(status).toEqual([
      ['ok', undefined],
      ['failed', 'error'],
      ['failed', 'crashed'],
      ['ok', undefined],
    ]);
    // what runLocal returns is what the folders hold
    for (const t of trials) expect(readResult(dir, t.id)).toEqual(run.results.get(t.id));
    expect(run.results.get(trials[1].id)!.message).toMatch(/missing: corpus not found/);
    const crash = run.results.get(crashId)!;
    expect(crash.message).toMatch(/^killed by SIGKILL without result\.json/);
    expect(crash.step).toBeGreaterThanOrEqual(2);
    expect(crash).toMatchObject({ valLoss: null, backend: 'wasm', tokens: crash.step! * 8 * 32 });
    for (const i of [0, 3]) {
      const r = run.results.get(trials[i].id)!;
      expect(r.valLoss).toBeGreaterThan(0);
      expect(r.valLoss).toBeLessThan(Math.log(512));
      const steps = readFileSync(join(trialDir(dir, trials[i].id), 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).step);
      expect(steps).toEqual(Array.from({ length: 12 }, (_, k) => k + 1));
      expect(JSON.parse(readFileSync(join(trialDir(dir, trials[i].id), 'config.json'), 'utf8')).meta).toEqual(
        trials[i].meta,
      );
    }
    // each trial process had OPENBLAS_NUM_THREADS = cores / workers
    const threads = String(Math.max(1, Math.floor(os.availableParallelism() / 2)));
    for (const e of env.values()) expect(e.split('\0')).toContain(`OPENBLAS_NUM_THREADS=${threads}`);
    expect(readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('a trial over its V8 heap limit is recorded failed: oom', async () => {
    const dir = mkdtempSync(join(base, 'oom-'));
    const t = tiny(5);
    const run = await runLocal([t], { dir, backend: 'wasm', backendInfo, execArgv: ['--max-old-space-size=8'] });
    expect(run.results.get(t.id)).toMatchObject({
      status: 'failed',
      reason: 'oom',
      message: expect.stringMatching(/heap out of memory/),
    });
    expect(readResult(dir, t.id)?.reason).toBe('oom');
  }, 30_000);

  it('abort: running trials are killed and left unfinished (no result.json), none start after', async () => {
    const dir = mkdtempSync(join(base, 'abort-'));
    const trials = [tiny(6, { steps: 200 }), tiny(7)];
    const ac = new AbortController();
    const seen: string[] = [];
    const run = await runLocal(trials, {
      dir,
      backend: 'wasm',
      backendInfo,
      workers: 1,
      signal: ac.signal,
      onEvent: (e) => {
        seen.push(`${e.type}:${e.trial.id}`);
        if (e.type === 'step' && e.step === 1) ac.abort();
      },
    });
    expect(run.interrupted).toEqual([trials[0].id]);
    expect(run.results.size).toBe(0);
    expect(readResult(dir, trials[0].id)).toBeNull();
    expect(seen.filter((s) => !s.startsWith('step') && !s.startsWith('log'))).toEqual([
      `start:${trials[0].id}`,
      `interrupted:${trials[0].id}`,
    ]);
  }, 30_000);
});

function pidOf(events: SweepEvent[], id: string): number {
  const e = events.find((x) => x.type === 'start' && x.trial.id === id);
  return (e as Extract<SweepEvent, { type: 'start' }>).pid;
}
