/**
 * The distributed executor, coordinator side (DESIGN: Execution). `run --executor redis` puts the
 * sweep's unfinished trials on a BullMQ queue (one job per trial, job id = trial id, so enqueuing
 * twice never duplicates) and waits; `engram-sweep worker` processes (src/sweep/worker.ts) train
 * them and return result.json plus the trial's files through the job. The coordinator alone
 * writes results/: a job's files are written when it is collected, result.json last, and the job
 * is removed from Redis only after that, so a coordinator killed at any point loses nothing: the
 * next run collects what finished meanwhile, then enqueues the rest.
 *
 * Redis going away mid-sweep: the coordinator says so, keeps waiting (ioredis reconnects), and
 * when Redis is back it checks every outstanding trial against the queue: finished jobs are
 * collected, jobs the server lost (restarted without persistence) are enqueued again.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { join } from 'node:path';
import { writeFileAtomic } from '../../contract/atomic.js';
import { InputError } from '../../contract/errors.js';
import { removeProgress, writeProgress, type RemoteProgress } from '../../contract/progress.js';
import { writeResult } from '../../contract/result.js';
import type { TrialResult } from '../../contract/results.js';
import { loadCorpus } from '../../data/corpus.js';
import { formatSeconds } from '../../util/progress.js';
import { withTimeout } from '../../util/wait.js';
import type { SweepEvent } from '../local.js';
import { trialDir, writeFailedResult } from '../store.js';
import type { SweepPlan, Trial } from '../types.js';
import {
  isResult,
  parseFailure,
  queueName,
  REGISTRY_KEY,
  TRIAL_FILES,
  type TrialJobData,
  type TrialJobProgress,
  type TrialJobResult,
} from './protocol.js';

/** The collected result could not be written (disk full, read-only): the job stays in Redis. */
export class CollectError extends Error {}

export interface RedisRunOptions {
  connection: Redis;
  /** for messages */
  url: string;
  /** the sweep folder (results/<sweep>) */
  dir: string;
  /** tries per trial (crash, out of memory, error), with exponential backoff from backoffMs */
  attempts: number;
  backoffMs: number;
  /** --retry-failed: failed jobs still in Redis run again instead of being recorded */
  retryFailed?: boolean;
  onEvent?: (e: SweepEvent) => void;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** how often every outstanding trial is checked against the queue (events do the rest) */
  reconcileMs?: number;
}

export interface RedisRun {
  results: Map<string, TrialResult>;
  /** still outstanding when the run was stopped: their jobs stay queued for the next run */
  interrupted: string[];
  queue: string;
}

/** Enqueue the trials, collect their results as workers finish them; resolves when all are in. */
export async function runRedis(
  plan: Pick<SweepPlan, 'name' | 'specHash' | 'trials'>,
  todo: Trial[],
  o: RedisRunOptions,
): Promise<RedisRun> {
  const c = new Coordinator(plan, todo, o);
  return c.run();
}

/** Each distinct corpus of the trials, hashed once; an unreadable one maps to its InputError. */
function corpusHashes(trials: Trial[]): Map<string, string | InputError> {
  const out = new Map<string, string | InputError>();
  for (const t of trials) {
    const path = t.config.data.corpus;
    if (out.has(path)) continue;
    try {
      out.set(path, loadCorpus(path).hash);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      out.set(path, e);
    }
  }
  return out;
}

/** Write a collected trial's files, result.json last (its presence means finished). */
export function writeCollected(dir: string, id: string, r: TrialJobResult): void {
  const t = trialDir(dir, id);
  for (const f of TRIAL_FILES) {
    const text = r.files?.[f];
    if (typeof text === 'string') writeFileAtomic(join(t, f), text);
  }
  writeResult(t, r.result);
}

class Coordinator {
  private readonly name: string;
  private readonly trials: Map<string, Trial>;
  private readonly outstanding: Set<string>;
  private readonly out: RedisRun;
  private readonly queue: Queue<TrialJobData, TrialJobResult>;
  private readonly events: QueueEvents;
  private readonly hashes: Map<string, string | InputError>;
  /** collect / reconcile run one at a time, in order */
  private chain: Promise<void> = Promise.resolve();
  /** worker:pid of each trial's current attempt, to tell a new start from more progress */
  private readonly startedBy = new Map<string, string>();
  private finish!: () => void;
  private fatal: Error | null = null;
  private downSince = 0;
  /** set when run() returns: the caller closes the connection then, which is no outage */
  private ended = false;
  private timers: NodeJS.Timeout[] = [];

  /** every trial of the sweep, done or not: their leftover jobs are cleaned up at the end */
  private readonly planIds: string[];

  constructor(
    plan: Pick<SweepPlan, 'name' | 'specHash' | 'trials'>,
    todo: Trial[],
    private readonly o: RedisRunOptions,
  ) {
    this.name = queueName(plan);
    this.planIds = plan.trials.map((t) => t.id);
    this.trials = new Map(todo.map((t) => [t.id, t]));
    this.outstanding = new Set(todo.map((t) => t.id));
    this.out = { results: new Map(), interrupted: [], queue: this.name };
    this.hashes = corpusHashes(todo);
    this.queue = new Queue(this.name, { connection: o.connection });
    this.events = new QueueEvents(this.name, { connection: o.connection });
  }

  async run(): Promise<RedisRun> {
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    const stop = () => this.finish();
    this.o.signal?.addEventListener('abort', stop);
    this.watchConnection();
    this.listen();
    try {
      this.failUnreadableCorpora();
      await this.register();
      this.serial(() => this.reconcile(true, true));
      this.timers.push(setInterval(() => this.serial(() => this.reconcile(true)), this.o.reconcileMs ?? 30_000));
      this.timers.push(setInterval(() => void this.register().catch(() => {}), 5000));
      if (this.outstanding.size) await done;
      if (this.fatal) throw this.fatal;
      this.out.interrupted = [...this.outstanding];
      if (!this.outstanding.size) await this.unregister();
      return this.out;
    } finally {
      this.ended = true;
      this.o.signal?.removeEventListener('abort', stop);
      for (const t of this.timers) clearInterval(t);
      await withTimeout(Promise.allSettled([this.events.close(), this.queue.close()]), 3000);
    }
  }

  /** Trials whose corpus the coordinator cannot read fail now, as the local executor's would. */
  private failUnreadableCorpora(): void {
    for (const t of this.trials.values()) {
      const h = this.hashes.get(t.config.data.corpus);
      if (h instanceof InputError)
        this.record(
          t,
          writeFailedResult(
            this.o.dir,
            t.id,
            { reason: 'error', message: h.line(), seconds: 0 },
            { name: 'none', native: false, threads: 0 },
          ),
        );
    }
  }

  /** Workers find the queue here; re-added every few seconds in case Redis restarted empty. */
  private async register(): Promise<void> {
    if (this.outstanding.size) await this.o.connection.zadd(REGISTRY_KEY, 'NX', Date.now(), this.name);
  }

  private async unregister(): Promise<void> {
    await this.o.connection.zrem(REGISTRY_KEY, this.name);
    // every trial has its result now: finished jobs of ours still in Redis are leftovers (a
    // coordinator killed between writing a result and removing its job); remove them
    for (const id of this.planIds) {
      const job = await this.queue.getJob(id);
      const state = job ? await job.getState() : null;
      if (job && (state === 'completed' || state === 'failed')) await job.remove().catch(() => {});
    }
    const counts = await this.queue.getJobCounts();
    if (Object.values(counts).every((n) => n === 0)) await this.queue.obliterate().catch(() => {});
  }

  private serial(fn: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (this.fatal || !this.outstanding.size ? undefined : fn()))
      .catch((e) => {
        this.fatal = e instanceof CollectError ? e : new Error(`redis coordinator: ${(e as Error).message}`);
        this.finish();
      });
  }

  /**
   * Collect every finished job of an outstanding trial (those that finished while no coordinator
   * ran, on the first pass); with `full`, also enqueue the trials that have no job (first pass, or
   * after Redis lost its data).
   */
  private async reconcile(full: boolean, first = false): Promise<void> {
    const finished = new Set(await this.queue.getRanges(['completed', 'failed'], 0, -1));
    for (const id of [...this.outstanding]) if (finished.has(id)) await this.collect(id, first);
    if (!full) return;
    const ids = [...this.outstanding];
    const states = await Promise.all(ids.map((id) => this.queue.getJobState(id)));
    const missing = ids.filter((_, i) => states[i] === 'unknown');
    if (!missing.length) return;
    if (!first)
      this.o.log(
        `${missing.length} trial(s) missing from the queue (Redis restarted without its data?): enqueued again`,
      );
    await this.queue.addBulk(missing.map((id) => ({ name: 'trial', data: this.jobData(id), opts: this.jobOpts(id) })));
  }

  private jobData(id: string): TrialJobData {
    const t = this.trials.get(id)!;
    return {
      sweep: this.name,
      config: t.config,
      meta: t.meta,
      corpusHash: this.hashes.get(t.config.data.corpus) as string,
    };
  }

  private jobOpts(id: string) {
    return {
      jobId: id,
      attempts: this.o.attempts,
      backoff: { type: 'exponential', delay: this.o.backoffMs },
      removeOnComplete: false,
      removeOnFail: false,
    };
  }

  /** A completed or finally failed job: write its result, then drop it from Redis. */
  private async collect(id: string, firstPass = false): Promise<void> {
    const job = await this.queue.getJob(id);
    const state = job ? await job.getState() : 'unknown';
    if (!job || !this.outstanding.has(id) || (state !== 'completed' && state !== 'failed')) return;
    const trial = this.trials.get(id)!;
    const rerun =
      firstPass && this.o.retryFailed && (state === 'failed' || job.returnvalue?.result?.status === 'failed');
    if (rerun || (state === 'completed' && !isResult(job.returnvalue))) {
      if (!rerun) this.o.log(`${id}: the worker's result is unreadable; running it again`);
      await job.remove();
      await this.queue.add('trial', this.jobData(id), this.jobOpts(id));
      return;
    }
    let result: TrialResult;
    try {
      result = state === 'completed' ? this.writeReturned(id, job.returnvalue) : this.writeFailed(id, job);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new CollectError(
        `cannot write the result of ${id} to ${this.o.dir} (${err.code ?? err.message}); it stays in Redis: make room and run again to collect it`,
      );
    }
    await job.remove().catch(() => {});
    this.record(trial, result);
  }

  private writeReturned(id: string, r: TrialJobResult): TrialResult {
    writeCollected(this.o.dir, id, r);
    return r.result;
  }

  private writeFailed(id: string, job: Job<TrialJobData, TrialJobResult>): TrialResult {
    const p = (typeof job.progress === 'object' ? job.progress : {}) as Partial<TrialJobProgress>;
    const c = this.trials.get(id)!.config;
    const { reason, message } = parseFailure(job.failedReason);
    const attempts = `after ${job.attemptsMade} attempt(s)`;
    return writeFailedResult(
      this.o.dir,
      id,
      {
        reason,
        message: `${message} (${attempts}${p.worker ? `, last on ${p.worker}` : ''})`,
        step: p.step,
        tokens: (p.step ?? 0) * c.train.batchSize * c.data.seqLen,
        seconds: job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : 0,
      },
      p.backend ?? { name: 'unknown', native: false, threads: 0 },
    );
  }

  private record(trial: Trial, result: TrialResult): void {
    if (!this.outstanding.delete(trial.id)) return;
    removeProgress(trialDir(this.o.dir, trial.id));
    this.out.results.set(trial.id, result);
    this.o.onEvent?.({ type: 'end', trial, result });
    if (!this.outstanding.size) this.finish();
  }

  /** Progress and finish events; missed ones (outages, restarts) are caught by reconcile. */
  private listen(): void {
    const noop = () => {};
    this.queue.on('error', noop);
    this.events.on('error', noop);
    this.events.on('progress', ({ jobId, data }) => this.progress(jobId, data as unknown as TrialJobProgress));
    this.events.on('completed', ({ jobId }) => this.serial(() => this.collect(jobId)));
    this.events.on('failed', ({ jobId }) => this.serial(() => this.collect(jobId)));
    this.events.on('stalled', ({ jobId }) => {
      if (this.outstanding.has(jobId))
        this.o.log(`${jobId}: its worker stopped answering (lock expired): back in the queue`);
    });
    this.events.on('delayed', ({ jobId, delay }) => {
      if (!this.outstanding.has(jobId)) return;
      void this.queue
        .getJob(jobId)
        .then((job) => {
          if (job?.failedReason)
            this.o.log(
              `${jobId}: attempt ${job.attemptsMade}/${this.o.attempts} failed: ${job.failedReason}; retrying in ${formatSeconds(Math.max(0, (Number(delay) - Date.now()) / 1000))}`,
            );
        })
        .catch(() => {});
    });
  }

  private progress(id: string, p: TrialJobProgress): void {
    const trial = this.trials.get(id);
    if (!trial || !this.outstanding.has(id) || typeof p !== 'object' || p === null) return;
    const who = `${p.worker}:${p.pid}`;
    if (this.startedBy.get(id) !== who) {
      this.startedBy.set(id, who);
      this.o.onEvent?.({ type: 'start', trial, pid: p.pid });
      this.o.onEvent?.({ type: 'log', trial, line: `on ${p.worker}` });
    }
    if (p.step > 0)
      this.o.onEvent?.({
        type: 'step',
        trial,
        step: p.step,
        steps: p.steps,
        loss: p.loss,
        tokensPerSec: p.tokensPerSec,
        rss: p.rss,
      });
    // for `engram-sweep status` (from the folder alone); a full disk only costs the display
    const where: RemoteProgress = {
      worker: p.worker,
      step: p.step,
      steps: p.steps,
      loss: p.loss,
      tokensPerSec: p.tokensPerSec,
    };
    try {
      writeProgress(trialDir(this.o.dir, id), where);
    } catch {
      // the result is what matters; it is written (or its failure reported) at collection
    }
  }

  /** Say clearly when Redis goes away and comes back; when back, check everything again. */
  private watchConnection(): void {
    const conn = this.o.connection;
    conn.on('error', () => {});
    conn.on('close', () => {
      if (this.downSince || this.ended || this.fatal || !this.outstanding.size) return;
      this.downSince = Date.now();
      this.o.log(
        `redis at ${this.o.url} is unreachable: waiting for it to come back (workers keep their trials; Ctrl-C stops, and a rerun resumes)`,
      );
    });
    conn.on('ready', () => {
      if (!this.downSince || this.ended) return;
      this.o.log(`redis is back after ${formatSeconds((Date.now() - this.downSince) / 1000)}: checking the queue`);
      this.downSince = 0;
      void this.register().catch(() => {});
      this.serial(() => this.reconcile(true));
    });
    this.timers.push(
      setInterval(() => {
        if (this.downSince)
          this.o.log(
            `still waiting for redis at ${this.o.url} (down ${formatSeconds((Date.now() - this.downSince) / 1000)})`,
          );
      }, 30_000),
    );
  }
}
