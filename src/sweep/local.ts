/**
 * The local executor (DESIGN: Execution): child processes, one trial each, at most `workers` at a
 * time and never more than the machine's memory holds by the trials' RSS estimates. A trial that
 * crashes is recorded failed and the sweep goes on; an interrupted one (the sweep is stopped)
 * is left unfinished, so the next run starts it again.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendChoice, BackendInfo } from '../backend/index.js';
import { estimateMemory } from '../train/precheck.js';
import type { TrialConfig } from '../train/config.js';
import type { TrialResult } from '../contract/results.js';
import type { ChildMessage, Job } from './child.js';
import { readResult, trialDir, writeFailedResult } from './store.js';
import type { Trial } from './types.js';

/** What one trial process holds, roughly (bytes); used to cap parallelism, not to enforce. */
export function estimateRss(c: TrialConfig): number {
  return estimateMemory(c).total;
}

export interface WorkerPlan {
  workers: number;
  /** OPENBLAS_NUM_THREADS of each trial process */
  threads: number;
  /** bytes the trial processes may hold together */
  memory: number;
  /** why workers is below what was asked, if it is */
  capped?: string;
}

/**
 * Workers: as asked (default: cores), capped by the trial count and by how many of the largest
 * trials fit in memory (85% of os.totalmem(), leaving room for the coordinator and the system).
 */
export function planWorkers(
  trials: Trial[],
  o: { workers?: number; memory?: number; cores?: number; threads?: number } = {},
): WorkerPlan {
  const cores = o.cores ?? os.availableParallelism();
  const memory = o.memory ?? Math.floor(os.totalmem() * 0.85);
  const asked = o.workers ?? cores;
  const largest = Math.max(0, ...trials.map((t) => estimateRss(t.config)));
  const fit = largest > 0 ? Math.max(1, Math.floor(memory / largest)) : asked;
  let workers = Math.max(1, Math.min(asked, fit, trials.length || 1));
  let capped: string | undefined;
  if (fit < asked && fit < trials.length) {
    capped = `${fit} worker(s): the largest trial needs ~${gb(largest)} GB of ${gb(memory)} GB usable memory`;
  }
  if (!trials.length) workers = 1;
  return { workers, threads: o.threads ?? Math.max(1, Math.floor(cores / workers)), memory, capped };
}

const gb = (b: number) => (b / 2 ** 30).toFixed(1);

/**
 * Which pending trial to start next (index, or -1): the first, in plan order, whose estimate fits
 * beside the running ones. A trial larger than the whole memory runs alone.
 */
export function nextToStart(pending: number[], running: number[], workers: number, memory: number): number {
  if (running.length >= workers) return -1;
  const used = running.reduce((s, b) => s + b, 0);
  return pending.findIndex((b) => running.length === 0 || used + b <= memory);
}

export type SweepEvent =
  | { type: 'start'; trial: Trial; pid: number }
  | { type: 'step'; trial: Trial; step: number; steps: number; loss: number; tokensPerSec: number; rss: number }
  | { type: 'log'; trial: Trial; line: string }
  | { type: 'end'; trial: Trial; result: TrialResult }
  /** stopped before it finished (the sweep was interrupted): nothing recorded, it runs next time */
  | { type: 'interrupted'; trial: Trial; signal: string | null };

export interface LocalOptions {
  /** the sweep folder; trial i writes to <dir>/trials/<id> */
  dir: string;
  backend: BackendChoice;
  /** what the coordinator's backend check found; used in results it writes for crashed trials */
  backendInfo?: BackendInfo;
  workers?: number;
  /** OPENBLAS_NUM_THREADS of each trial (default: cores / workers, so the trials share the cores) */
  threads?: number;
  /** bytes the trial processes may use together (default 85% of os.totalmem()) */
  memory?: number;
  /** node flags for the trial processes, e.g. --max-old-space-size=8192 (default none) */
  execArgv?: string[];
  /** extra environment for the trial processes */
  env?: Record<string, string>;
  onEvent?: (e: SweepEvent) => void;
  /** abort: stop the running trials (left unfinished) and start no more */
  signal?: AbortSignal;
}

export interface LocalRun {
  results: Map<string, TrialResult>;
  interrupted: string[];
  plan: WorkerPlan;
}

/** dist/sweep/child.js beside this file; from src/ (tests) the built one in dist/. */
export function childScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = join(here, 'child.js');
  return existsSync(js) ? js : resolve(here, '../../dist/sweep/child.js');
}

/** Run trials in child processes; resolves when all have ended (or the run was aborted). */
export async function runLocal(trials: Trial[], o: LocalOptions): Promise<LocalRun> {
  const script = childScript();
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (npm run build)`);
  const plan = planWorkers(trials, { workers: o.workers, memory: o.memory, threads: o.threads });
  const out: LocalRun = { results: new Map(), interrupted: [], plan };
  const pending = trials.map((t) => ({ trial: t, bytes: estimateRss(t.config) }));
  const running = new Map<ChildProcess, { bytes: number }>();
  const emit = o.onEvent ?? (() => {});
  let stopping = o.signal?.aborted ?? false;
  return new Promise<LocalRun>((done) => {
    const pump = () => {
      while (!stopping) {
        const i = nextToStart(
          pending.map((p) => p.bytes),
          [...running.values()].map((r) => r.bytes),
          plan.workers,
          plan.memory,
        );
        if (i < 0) break;
        const [{ trial, bytes }] = pending.splice(i, 1);
        const child = startTrial(
          trial,
          o,
          script,
          plan.threads,
          emit,
          (r) => {
            running.delete(child);
            if (r) out.results.set(trial.id, r);
            else out.interrupted.push(trial.id);
            pump();
          },
          () => stopping,
        );
        running.set(child, { bytes });
      }
      if (running.size === 0) {
        o.signal?.removeEventListener('abort', stop);
        done(out);
      }
    };
    const stop = () => {
      stopping = true;
      for (const child of running.keys()) {
        child.kill('SIGTERM');
        setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 3000).unref();
      }
    };
    o.signal?.addEventListener('abort', stop);
    pump();
  });
}

/**
 * One trial process. `end` gets the trial's result, or null when it was interrupted (killed by
 * SIGINT/SIGTERM, or while the sweep stops): then nothing is written and the trial stays unfinished.
 */
function startTrial(
  trial: Trial,
  o: LocalOptions,
  script: string,
  threads: number,
  emit: (e: SweepEvent) => void,
  end: (r: TrialResult | null) => void,
  stopping: () => boolean,
): ChildProcess {
  const dir = trialDir(o.dir, trial.id);
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  // argv: the trial folder (so `ps` shows which trial) and our pid (the child's watchdog)
  const child = fork(script, [resolve(dir), String(process.pid)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: o.execArgv ?? [],
    env: { ...process.env, ...o.env, OPENBLAS_NUM_THREADS: String(threads) },
  });
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-8192));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let backend: BackendInfo = o.backendInfo ?? { name: o.backend, native: false, threads: 0 };
  let last: { step: number; rss: number } | undefined;
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'backend') backend = m.info;
    else if (m.type === 'log') emit({ type: 'log', trial, line: m.line });
    else if (m.type === 'step') {
      last = m;
      emit({
        type: 'step',
        trial,
        step: m.step,
        steps: m.steps,
        loss: m.loss,
        tokensPerSec: m.tokensPerSec,
        rss: m.rss,
      });
    }
  });
  let settled = false;
  const finish = (code: number | null, signal: string | null, spawnError?: Error) => {
    if (settled) return;
    settled = true;
    const result = readResult(o.dir, trial.id);
    if (!result && !spawnError && (stopping() || signal === 'SIGINT' || signal === 'SIGTERM')) {
      emit({ type: 'interrupted', trial, signal });
      return end(null);
    }
    const r =
      result ??
      writeFailedResult(
        o.dir,
        trial.id,
        {
          ...crashReason(code, signal, tail, last?.rss, spawnError),
          step: last?.step,
          tokens: (last?.step ?? 0) * trial.config.train.batchSize * trial.config.data.seqLen,
          seconds: (Date.now() - t0) / 1000,
        },
        backend,
      );
    emit({ type: 'end', trial, result: r });
    end(r);
  };
  child.on('error', (e) => finish(null, null, e));
  child.on('close', (code, signal) => finish(code, signal));
  const job: Job = {
    type: 'job',
    config: trial.config,
    meta: { ...trial.meta },
    dir: resolve(dir),
    backend: o.backend,
  };
  child.send(job);
  if (child.pid) emit({ type: 'start', trial, pid: child.pid });
  return child;
}

/** Why a process died without result.json: V8's heap limit is oom, anything else crashed. */
export function crashReason(
  code: number | null,
  signal: string | null,
  stderr: string,
  rss?: number,
  spawnError?: Error,
): { reason: 'crashed' | 'oom'; message: string } {
  if (spawnError) return { reason: 'crashed', message: `could not start: ${spawnError.message}` };
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim());
  const lastLine = lines.length ? `: ${lines[lines.length - 1].trim().slice(0, 300)}` : '';
  const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
  if (/heap out of memory|allocation failed/i.test(stderr))
    return { reason: 'oom', message: `${how}: JavaScript heap out of memory` };
  const mem = signal === 'SIGKILL' && rss ? ` (last RSS ${gb(rss)} GB; the kernel's OOM killer?)` : '';
  return { reason: 'crashed', message: `${how} without result.json${mem}${lastLine}` };
}
