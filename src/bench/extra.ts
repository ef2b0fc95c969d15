/**
 * `bench --extra`: the claims the design makes about cost, measured.
 *   slots   : step time vs Engram slots (1e4 .. 1e7 per table): flat within 10%
 *   rho     : rho = 1 (experts) against rho = 0 (tables) at equal P_act: within 1.25x
 *   hashing : training-time n-gram hash throughput (src/bench/hash.ts)
 *   bpe     : training 8k BPE merges on the default corpus's train split: under 60 s
 *   sweep   : 2 trials on 2 workers against one trial alone: <= 1.15x its wall time
 * Each training measurement runs in its own process (child.ts), like the configs.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { BackendChoice } from '../backend/index.js';
import { solveAllocation } from '../budget/solve.js';
import { trainBpe } from '../data/bpe/train.js';
import { defaultCorpusDir, loadCorpus, splitCorpus } from '../data/corpus.js';
import { prepareDataset } from '../data/dataset.js';
import { benchHashing } from './hash.js';
import { account } from '../model/accounting.js';
import { runLocal } from '../sweep/local.js';
import type { Trial } from '../sweep/types.js';
import { parseTrial } from '../train/config.js';
import { trialId } from '../train/trial-id.js';
import { benchModel } from './configs.js';
import { runOurs } from './peer.js';

export const EXTRAS = ['slots', 'rho', 'hashing', 'bpe', 'sweep'] as const;
export type Extra = (typeof EXTRAS)[number];

export interface ExtraOptions {
  extras: Extra[];
  steps: number;
  threads: number;
  backend: BackendChoice;
  /** slot counts per table for the slots extra */
  slots: number[];
  log: (line: string) => void;
}

export type ExtraLine = { extra: Extra } & Record<string, unknown>;

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const gb = (b: number) => (b / 2 ** 30).toFixed(1);

/** Host bytes of engram-s tables at `slots` per table: value + two Adam moments, float32. */
function tableBytes(slots: number): number {
  const e = benchModel('engram-s', slots).engram!;
  const tables = (e.maxNgram - 1) * e.headsPerNgram;
  return tables * slots * (e.dimPerNgram / e.headsPerNgram) * 12;
}

async function slotsExtra(o: ExtraOptions, emit: (l: ExtraLine) => void): Promise<void> {
  const measured: { slots: number; ms: number; cpu: number }[] = [];
  for (const slots of o.slots) {
    // at most 80% of what is free: room stays for the system and whatever else runs
    const need = tableBytes(slots) + 600e6;
    if (need > os.freemem() * 0.8) {
      emit({
        extra: 'slots',
        slots,
        skipped: `needs ~${gb(need)} GB, ${gb(os.freemem())} GB free (at most 80% is used)`,
      });
      continue;
    }
    o.log(`bench --extra slots: ${slots} slots per table`);
    let r: Awaited<ReturnType<typeof runOurs>>;
    try {
      r = await runOurs({
        config: `engram-s@${slots}`,
        model: benchModel('engram-s', slots),
        steps: o.steps,
        threads: o.threads,
        backend: o.backend,
        profile: false,
      });
    } catch (err) {
      emit({ extra: 'slots', slots, failed: (err as Error).message });
      continue;
    }
    measured.push({ slots, ms: r.msPerStep, cpu: r.cpuMsPerStep });
    emit({
      extra: 'slots',
      slots,
      msPerStep: r.msPerStep,
      cpuMsPerStep: r.cpuMsPerStep,
      tokensPerSec: r.tokensPerSec,
      peakRssBytes: r.peakRssBytes,
    });
  }
  if (measured.length >= 2) {
    const spread = (k: 'ms' | 'cpu') =>
      r3(Math.max(...measured.map((m) => m[k])) / Math.min(...measured.map((m) => m[k])));
    emit({
      extra: 'slots',
      summary: true,
      slots: measured.map((m) => m.slots),
      maxOverMin: spread('ms'),
      cpuMaxOverMin: spread('cpu'),
      flat: spread('cpu') <= 1.1,
    });
  }
}

async function rhoExtra(o: ExtraOptions, emit: (l: ExtraLine) => void): Promise<void> {
  // moe-s's own P_tot; rho = 1 keeps 1-slot tables (the memory's dense part) so P_act is equal
  const backbone = benchModel('engram-s');
  const pTot = account(benchModel('moe-s')).pTot;
  const res: Record<string, number> = {};
  for (const rho of [1, 0]) {
    const a = solveAllocation(backbone, pTot, rho, { memory: 'engram', rhoOne: 'minimal', where: 'bench --extra rho' });
    o.log(`bench --extra rho: rho ${rho}: ${a.routedExperts} routed experts, base size ${a.baseSize}`);
    const r = await runOurs({
      config: `rho=${rho}`,
      model: a.model,
      steps: o.steps,
      threads: o.threads,
      backend: o.backend,
      profile: false,
    });
    res[rho] = r.cpuMsPerStep;
    emit({
      extra: 'rho',
      rho,
      routedExperts: a.routedExperts,
      slots: a.baseSize,
      pTot: a.accounting.pTot,
      pAct: a.accounting.pAct,
      msPerStep: r.msPerStep,
      cpuMsPerStep: r.cpuMsPerStep,
      peakRssBytes: r.peakRssBytes,
    });
  }
  const ratio = r3(res[1] / res[0]);
  emit({ extra: 'rho', summary: true, rho1OverRho0: ratio, within125: ratio <= 1.25 && ratio >= 1 / 1.25 });
}

function hashingExtra(emit: (l: ExtraLine) => void): void {
  const h = benchHashing();
  // 16 indices per token: orders 2..3 x 8 heads, the shape src/bench/hash.ts hashes
  emit({
    extra: 'hashing',
    indicesPerSec: Math.round(h.indicesPerSec),
    tokensPerSec: Math.round(h.indicesPerSec / 16),
    seconds: r3(h.seconds),
  });
}

function bpeExtra(emit: (l: ExtraLine) => void): void {
  const split = splitCorpus(loadCorpus());
  const t0 = performance.now();
  const tok = trainBpe(split.train, 8192 + 257); // 8k merges over the 256 bytes + <|endoftext|>
  const seconds = (performance.now() - t0) / 1000;
  emit({
    extra: 'bpe',
    merges: tok.mergeCount,
    trainChars: split.trainChars,
    seconds: r3(seconds),
    within60s: seconds < 60,
  });
}

/** A small dense trial on two Gutenberg books; distinct seeds give distinct trial ids. */
function sweepTrial(corpus: string, seed: number, steps: number): Trial {
  const config = parseTrial(
    {
      data: { corpus, vocabSize: 1024, seqLen: 128, valTokens: 4096, valFraction: 0.1 },
      model: { dModel: 128, nLayers: 4, nHeads: 4, ffnHidden: 384 },
      train: { steps, batchSize: 16, warmup: 2, logEvery: 10, seed },
    },
    'bench --extra sweep',
  );
  return { id: trialId(config), config, meta: { kind: 'dense', variant: 'dense', seed } };
}

async function sweepExtra(o: ExtraOptions, emit: (l: ExtraLine) => void): Promise<void> {
  const base = mkdtempSync(join(os.tmpdir(), 'engram-bench-sweep-'));
  try {
    const corpus = join(base, 'corpus');
    mkdirSync(corpus);
    for (const f of ['carroll-alice.txt', 'austen-emma.txt'])
      copyFileSync(join(defaultCorpusDir(), f), join(corpus, f));
    const trials = [0, 1, 2].map((s) => sweepTrial(corpus, s, o.steps * 3));
    // tokenizer and tokens go to the cache first, so neither timing pays for them
    await prepareDataset(trials[0].config.data, o.log);
    const time = async (ts: Trial[], workers: number, dir: string, threads?: number) => {
      const t0 = performance.now();
      const run = await runLocal(ts, { dir: join(base, dir), backend: o.backend, workers, threads });
      for (const t of ts)
        if (run.results.get(t.id)?.status !== 'ok') throw new Error(`sweep trial ${t.id} did not finish ok`);
      return { seconds: (performance.now() - t0) / 1000, threads: run.plan.threads };
    };
    // the ratio compares like with like: one trial alone with the BLAS threads each of the two
    // gets (what the sweep engine adds: scheduling, processes, shared memory bandwidth); one
    // trial with all cores' threads is reported beside it
    o.log(
      "bench --extra sweep: one trial alone (a worker's share of threads, then all cores), then two on two workers",
    );
    const two = await time([trials[1], trials[2]], 2, 'two');
    const one = await time([trials[0]], 1, 'one', two.threads);
    const oneAll = await time([trials[0]], 1, 'one-all');
    const ratio = r3(two.seconds / one.seconds);
    emit({
      extra: 'sweep',
      oneTrialSeconds: r3(one.seconds),
      twoTrialsSeconds: r3(two.seconds),
      threadsPerTrial: two.threads,
      ratio,
      within115: ratio <= 1.15,
      oneTrialAllCoresSeconds: r3(oneAll.seconds),
      allCoresThreads: oneAll.threads,
    });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

export async function runExtras(o: ExtraOptions, emit: (l: ExtraLine) => void): Promise<void> {
  for (const e of o.extras) {
    if (e === 'slots') await slotsExtra(o, emit);
    else if (e === 'rho') await rhoExtra(o, emit);
    else if (e === 'hashing') hashingExtra(emit);
    else if (e === 'bpe') bpeExtra(emit);
    else await sweepExtra(o, emit);
  }
}
