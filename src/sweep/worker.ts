/**
 * The distributed executor, worker side (DESIGN: Execution): `engram-sweep worker --redis URL`
 * pulls trials from the sweep queues coordinators register (src/sweep/redis/coordinator.ts), trains each in a
 * child process through the local executor (so a crash or out-of-memory kills the trial, not the
 * worker), in a temp folder it deletes afterwards, and returns result.json plus the trial's files
 * through the job: workers need no shared disk.
 *
 * A worker serves one queue at a time, the oldest registered one with work waiting, and stays on a
 * queue while it still has jobs, so that its stalled-job check can hand a dead worker's trial to
 * another. Its event loop stays free while trials train, so BullMQ renews the job locks (every
 * lockDuration / 2) however long a trial runs; lockDuration only bounds how fast a dead worker is
 * noticed.
 */
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendChoice, BackendInfo } from '../backend/index.js';
import { InputError } from '../contract/errors.js';
import { loadCorpus } from '../data/corpus.js';
import { runLocal, type SweepEvent } from './local.js';
import {
  REGISTRY_KEY,
  TRIAL_FILES,
  type TrialJobData,
  type TrialJobProgress,
  type TrialJobResult,
} from './redis/protocol.js';
import { lockAlive, trialDir } from './store.js';
import { trialSteps } from '../train/schedule.js';
import { sleep, withTimeout } from '../util/wait.js';

export interface WorkerOptions {
  connection: Redis;
  url: string;
  concurrency: number;
  backend: BackendChoice;
  backendInfo?: BackendInfo;
  /** train on this corpus instead of the path in each job (its hash must still match) */
  corpus?: string;
  /** serve only this queue (default: every registered sweep, oldest first) */
  queue?: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  /** how often the worker looks for queues with work */
  pollMs: number;
  /** node flags for the trial processes */
  execArgv?: string[];
  /** where trial folders live while training (default os.tmpdir()) */
  tmpRoot?: string;
  log: (line: string) => void;
  signal?: AbortSignal;
}

const TEMP_PREFIX = 'engram-worker-';
/** how long trials may sit ready on the served queue while this worker runs none */
const STUCK_MS = 15_000;

/** A trial that failed in a way worth retrying; the message carries the reason for the coordinator. */
class TrialFailure extends Error {}

/** Serve queues until the signal aborts; running trials then go back to their queue. */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const w = new WorkerLoop(o);
  await w.run();
}

/** Temp folders of workers on this host that died (kill -9) before deleting them. */
export function removeStaleTemp(root: string): number {
  let n = 0;
  for (const f of readdirSync(root)) {
    const m = new RegExp(`^${TEMP_PREFIX}(\\d+)-`).exec(f);
    if (m && !lockAlive({ pid: Number(m[1]), host: hostname(), started: '' })) {
      rmSync(join(root, f), { recursive: true, force: true });
      n++;
    }
  }
  return n;
}

class WorkerLoop {
  private readonly name = `${hostname()}:${process.pid}`;
  private readonly tmpRoot: string;
  private current: { queue: string; worker: Worker<TrialJobData, TrialJobResult> } | null = null;
  private readonly queues = new Map<string, Queue>();
  /** running trials: abort kills the trial process */
  private readonly running = new Map<string, AbortController>();
  /** trials whose job lock was lost (the stalled check gave the job to another worker) */
  private readonly lostLock = new Set<string>();
  private stopping = false;
  private downSince = 0;
  /** since when the current queue has had trials ready while none ran here (0: not now) */
  private idleWithWork = 0;
  /** when a job last reached process() (trials shorter than a poll never show in `running`) */
  private lastTaken = 0;
  /** BullMQ workers being closed in the background */
  private readonly closing = new Set<Worker<TrialJobData, TrialJobResult>>();

  constructor(private readonly o: WorkerOptions) {
    this.tmpRoot = o.tmpRoot ?? tmpdir();
  }

  async run(): Promise<void> {
    const removed = removeStaleTemp(this.tmpRoot);
    if (removed) this.o.log(`removed ${removed} temp folder(s) of dead workers`);
    this.watchConnection();
    this.o.log(
      `worker ${this.name}: concurrency ${this.o.concurrency}, backend ${this.o.backend}, ${this.o.queue ? `queue ${this.o.queue}` : 'every registered sweep'} on ${this.o.url}`,
    );
    const stopped = new Promise<void>((resolve) => {
      if (this.o.signal?.aborted) resolve();
      this.o.signal?.addEventListener('abort', () => resolve());
    });
    while (!this.stopping) {
      try {
        // (while Redis is away a tick waits for it; a stop request does not)
        await Promise.race([this.tick(), stopped]);
      } catch (e) {
        this.idleWithWork = 0; // a tick that failed (Redis away) saw nothing
        if (!this.downSince) this.o.log(`worker: ${(e as Error).message}`);
      }
      await Promise.race([stopped, sleep(this.o.pollMs)]);
      if (this.o.signal?.aborted) this.stopping = true;
    }
    await this.shutdown();
  }

  /** Kill running trials (their jobs go back to the queue), then close. */
  private async shutdown(): Promise<void> {
    if (this.running.size) this.o.log(`stopping: ${this.running.size} running trial(s) go back to the queue`);
    for (const ac of this.running.values()) ac.abort();
    if (this.current) this.closing.add(this.current.worker);
    this.current = null;
    // a BullMQ worker whose blocking read never settles would hold the exit: give each 5 s to
    // close, then drop the connections of those still running
    const workers = [...this.closing];
    await withTimeout(Promise.allSettled(workers.map((w) => w.close())), 5000);
    const hung = workers.filter((w) => w.isRunning());
    await withTimeout(Promise.allSettled(hung.map((w) => w.disconnect())), 2000);
    for (const q of this.queues.values()) await q.close().catch(() => {});
    removeStaleTemp(this.tmpRoot);
  }

  /** Stay on the current queue while it has work or ours runs; else move to the oldest with work. */
  private async tick(): Promise<void> {
    const names = this.o.queue ? [this.o.queue] : await this.o.connection.zrange(REGISTRY_KEY, 0, -1);
    const counts = new Map<string, { waiting: number; ready: number; active: number }>();
    for (const n of names) {
      const c = await this.queueOf(n).getJobCounts('wait', 'prioritized', 'delayed', 'active');
      counts.set(n, { waiting: c.wait + c.prioritized + c.delayed, ready: c.wait + c.prioritized, active: c.active });
    }
    for (const [n, q] of this.queues) {
      if (names.includes(n) || n === this.current?.queue) continue;
      this.queues.delete(n);
      void q.close().catch(() => {});
    }
    const withWork = names.find((n) => counts.get(n)!.waiting > 0);
    const withJobs = withWork ?? names.find((n) => counts.get(n)!.active > 0);
    const cur = this.current;
    if (cur) {
      const c = counts.get(cur.queue);
      const busy = this.running.size > 0 || (c && c.waiting > 0);
      const keep = busy || (c && c.active > 0 && !withWork);
      if (this.stuck(cur.queue, c?.ready ?? 0)) {
        this.current = null;
        this.closeInBackground(cur.worker);
        this.attach(cur.queue);
        return;
      }
      if (keep || cur.queue === withJobs) return;
      this.current = null;
      this.closeInBackground(cur.worker);
      this.o.log(`left queue ${cur.queue}`);
    }
    if (withJobs && !this.stopping) this.attach(withJobs);
  }

  /**
   * True when the queue has had trials ready for STUCK_MS while this worker ran none: its BullMQ
   * worker stopped fetching (seen after Redis restarts: a blocking read that never returns), so
   * the caller replaces it. Idle with work waiting is otherwise impossible for longer than a poll.
   */
  private stuck(queue: string, ready: number): boolean {
    if (ready === 0 || this.running.size > 0 || this.stopping) {
      this.idleWithWork = 0;
      return false;
    }
    const now = Date.now();
    if (!this.idleWithWork) this.idleWithWork = now;
    if (now - Math.max(this.idleWithWork, this.lastTaken) < STUCK_MS) return false;
    this.idleWithWork = 0;
    this.o.log(
      `queue ${queue} has ${ready} trial(s) ready but this worker took none for ${STUCK_MS / 1000} s: reattaching`,
    );
    return true;
  }

  /**
   * Close a BullMQ worker without waiting on it: close() waits for its jobs and its blocking read,
   * which after an outage may never settle; the loop must go on serving (shutdown waits instead).
   */
  private closeInBackground(worker: Worker<TrialJobData, TrialJobResult>): void {
    this.closing.add(worker);
    void worker
      .close()
      .catch(() => {})
      .finally(() => this.closing.delete(worker));
  }

  private queueOf(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.o.connection });
      q.on('error', () => {});
      this.queues.set(name, q);
    }
    return q;
  }

  private attach(queue: string): void {
    // a worker being replaced may still fetch a job while it closes: that job goes back to the
    // queue for the current one, so concurrency is never exceeded
    const processor = async (job: Job<TrialJobData, TrialJobResult>, token?: string) => {
      if (this.current?.worker !== worker) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      return this.process(job, token);
    };
    const worker = new Worker<TrialJobData, TrialJobResult>(queue, processor, {
      connection: this.o.connection,
      concurrency: this.o.concurrency,
      lockDuration: this.o.lockDurationMs,
      stalledInterval: this.o.stalledIntervalMs,
      maxStalledCount: this.o.maxStalledCount,
      name: this.name,
    });
    worker.on('error', (e) => {
      // our lock expired (e.g. Redis was away longer than lockDuration): the job is someone
      // else's now, so stop training it rather than finish a result nobody can accept
      const lost = /could not renew lock for job (\S+)/.exec(e.message)?.[1];
      if (lost && this.running.has(lost) && !this.lostLock.has(lost)) {
        this.lostLock.add(lost);
        this.o.log(`lost the claim on ${lost} (it went back to the queue): stopping its trial`);
        this.running.get(lost)!.abort();
      } else if (!lost && !this.downSince) this.o.log(`worker: ${e.message}`);
    });
    worker.on('failed', (job, e) => {
      if (job && !(e instanceof WaitingError))
        this.o.log(`failed ${job.id} (attempt ${job.attemptsMade}): ${e.message}`);
    });
    this.current = { queue, worker };
    this.o.log(`serving queue ${queue}`);
  }

  /** One job: check the corpus, train in a temp folder, return the files (or throw to retry). */
  private async process(job: Job<TrialJobData, TrialJobResult>, token?: string): Promise<TrialJobResult> {
    const id = job.id!;
    this.lastTaken = Date.now();
    const { config, meta, corpusHash } = job.data;
    const corpus = this.o.corpus ?? config.data.corpus;
    this.checkCorpus(id, corpus, corpusHash);
    removeStaleTemp(this.tmpRoot);
    const tmp = mkdtempSync(join(this.tmpRoot, `${TEMP_PREFIX}${process.pid}-`));
    const ac = new AbortController();
    this.running.set(id, ac);
    const t0 = Date.now();
    this.o.log(`start ${id} (${job.data.sweep}, attempt ${job.attemptsMade + 1})`);
    try {
      const trial = { id, config: { ...config, data: { ...config.data, corpus } }, meta };
      const report = progressReporter(job, this.name, this.o.backendInfo);
      // concurrent jobs share the cores: each trial gets its share of BLAS threads
      const threads = Math.max(1, Math.floor(availableParallelism() / this.o.concurrency));
      const run = await runLocal([trial], {
        dir: tmp,
        backend: this.o.backend,
        backendInfo: this.o.backendInfo,
        workers: 1,
        threads,
        execArgv: this.o.execArgv,
        signal: ac.signal,
        onEvent: report,
      });
      const result = run.results.get(id);
      if (!result) {
        // stopped by shutdown: back to the queue without using up an attempt (a lost claim is
        // already back there)
        if (!this.lostLock.has(id)) await job.moveToWait(token).catch(() => {});
        throw new WaitingError();
      }
      const s = ((Date.now() - t0) / 1000).toFixed(1);
      if (result.status === 'failed' && result.reason !== 'diverged') {
        this.o.log(`failed ${id} in ${s} s: ${result.reason}: ${result.message ?? ''}`);
        throw new TrialFailure(`${result.reason}: ${result.message ?? 'no message'}`);
      }
      this.o.log(`${result.status === 'ok' ? 'done' : 'diverged'} ${id} in ${s} s`);
      return { result, files: readFiles(trialDir(tmp, id), config.data.corpus, corpus), worker: this.name };
    } finally {
      this.running.delete(id);
      this.lostLock.delete(id);
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** Refuse a job whose corpus is not byte-for-byte the coordinator's (the job fails with why). */
  private checkCorpus(id: string, path: string, want: string): void {
    let have: string;
    try {
      have = loadCorpus(path).hash;
    } catch (e) {
      const why = e instanceof InputError ? e.line() : (e as Error).message;
      this.o.log(`refused ${id}: ${why}`);
      throw new TrialFailure(
        `error: worker ${this.name} cannot read the corpus: ${why} (give the worker --corpus PATH)`,
      );
    }
    if (have !== want) {
      const msg = `corpus ${path} on worker ${this.name} has content hash ${have.slice(0, 12)}, the coordinator's has ${want.slice(0, 12)}: refused (give the worker the same corpus, --corpus PATH)`;
      this.o.log(`refused ${id}: ${msg}`);
      throw new TrialFailure(`error: ${msg}`);
    }
  }

  private watchConnection(): void {
    const conn = this.o.connection;
    conn.on('error', () => {});
    conn.on('close', () => {
      if (this.downSince || this.stopping) return;
      this.downSince = Date.now();
      this.o.log(`redis at ${this.o.url} is unreachable: waiting for it (running trials go on)`);
    });
    conn.on('ready', () => {
      if (!this.downSince) return;
      this.o.log(`redis is back after ${((Date.now() - this.downSince) / 1000).toFixed(0)} s`);
      this.downSince = 0;
    });
  }
}

/** Forward the trial process's start and steps as job progress, at most about once a second. */
function progressReporter(job: Job<TrialJobData, TrialJobResult>, worker: string, backend?: BackendInfo) {
  let pid = 0;
  let last = 0;
  const send = (p: TrialJobProgress) => void job.updateProgress(p as unknown as object).catch(() => {});
  return (e: SweepEvent) => {
    if (e.type === 'start') {
      pid = e.pid;
      send({
        worker,
        pid,
        step: 0,
        steps: trialSteps(e.trial.config.train, e.trial.config.data.seqLen),
        loss: NaN,
        tokensPerSec: 0,
        rss: 0,
        backend,
      });
    } else if (e.type === 'step' && (Date.now() - last >= 1000 || e.step === e.steps)) {
      last = Date.now();
      send({
        worker,
        pid,
        step: e.step,
        steps: e.steps,
        loss: e.loss,
        tokensPerSec: e.tokensPerSec,
        rss: e.rss,
        backend,
      });
    }
  };
}

/** The trial's files, with config.json naming the coordinator's corpus path when --corpus mapped it. */
function readFiles(dir: string, jobCorpus: string, usedCorpus: string): TrialJobResult['files'] {
  const files: TrialJobResult['files'] = {};
  for (const f of TRIAL_FILES) {
    try {
      files[f] = readFileSync(join(dir, f), 'utf8');
    } catch {
      // absent (no gates.json without Engram; nothing but result.json after an early failure)
    }
  }
  if (files['config.json'] && jobCorpus !== usedCorpus) {
    const c = JSON.parse(files['config.json']) as { data: { corpus: string } };
    c.data.corpus = jobCorpus;
    files['config.json'] = JSON.stringify(c, null, 2) + '\n';
  }
  return files;
}
