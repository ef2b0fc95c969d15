/**
 * The optimiser loop over a range of steps: batches, the one training step, metrics rows, progress,
 * and the validation pass at the end of the range (the trial's end, or a horizon's).
 */
import { appendMetrics } from '../contract/metrics.js';
import type { MetricsRow } from '../contract/results.js';
import { Progress } from '../util/progress.js';
import type { AdamW } from './adamw.js';
import { evaluate, extras, trainBatch, type Context } from './context.js';
import { trainStep } from './step.js';

export interface RunOptions {
  /** trial folder; files are written here */
  dir: string;
  backend: { name: string; native: boolean; threads: number };
  log?: (line: string) => void;
  /** progress bar / lines on stderr */
  progress?: boolean;
  /** sweep coordinates (rho, budget, seed, ...), recorded in config.json */
  meta?: Record<string, unknown>;
  /** called after every step (a sweep executor forwards it as progress) */
  onStep?: (s: { step: number; steps: number; loss: number; tokensPerSec: number }) => void;
}

export interface RangeOptions {
  /** the cooldown branch these steps belong to (its horizon in tokens); absent on the trunk */
  branch?: number;
  /** validate after the range's last step (default true) */
  evalAtEnd?: boolean;
}

export type RangeResult = { val: { loss: number; bpb: number } } | { diverged: number };

export class Loop {
  readonly tokensPerStep: number;
  bar: Progress | null = null;
  private readonly orders = new Map<number, Int32Array>();
  private done = 0;
  private total = 0;

  constructor(
    private readonly ctx: Context,
    private readonly opt: AdamW,
    readonly metricsFile: string,
    private readonly o: RunOptions,
  ) {
    this.tokensPerStep = ctx.c.train.batchSize * ctx.c.data.seqLen;
  }

  /** Announce how many steps this run will train (the progress bar's length). */
  start(steps: number): void {
    this.total = steps;
    if (this.o.progress) this.bar = new Progress('train', steps);
  }

  /** Train steps [from, to) at lr(step). Returns the validation after `to`, or the step that diverged. */
  train(from: number, to: number, lr: (step: number) => number, r: RangeOptions = {}): RangeResult {
    const { c } = this.ctx;
    const B = c.train.batchSize;
    let val = { loss: NaN, bpb: NaN };
    for (let step = from; step < to; step++) {
      const ts = Date.now();
      const batch = trainBatch(this.ctx, this.orders, step, B, c.data.seqLen);
      const rate = lr(step);
      const out = trainStep(this.ctx.model, this.ctx.memories, this.opt, batch, {
        lr: rate,
        clip: c.train.clip,
        memoryLrScale: c.train.memoryLrScale,
        gamma: c.model.moe?.gamma ?? 0,
      });
      if (out.diverged) return { diverged: step };
      const ms = Date.now() - ts;
      const last = step === to - 1 && r.evalAtEnd !== false;
      const evalNow = last || (c.train.evalEvery > 0 && (step + 1) % c.train.evalEvery === 0);
      if (evalNow) val = evaluate(this.ctx, B);
      if (evalNow || step % c.train.logEvery === 0) {
        const row: MetricsRow = {
          step: step + 1,
          tokens: (step + 1) * this.tokensPerStep,
          lr: rate,
          loss: out.loss,
          ...(evalNow ? { valLoss: val.loss } : {}),
          ...(last && r.branch !== undefined ? { valBpb: val.bpb } : {}),
          tokensPerSec: (this.tokensPerStep * 1000) / ms,
          msPerStep: ms,
          ...extras(out.expertLoad, out.gateMean),
          ...(r.branch !== undefined ? { branch: r.branch } : {}),
          ...(last && r.branch !== undefined ? { horizon: true as const } : {}),
        };
        appendMetrics(this.metricsFile, row);
      }
      this.done++;
      const tps = (this.tokensPerStep * 1000) / ms;
      this.bar?.update(this.done, `loss ${out.loss.toFixed(3)} ${Math.round(tps)} tok/s`);
      this.o.onStep?.({ step: this.done, steps: this.total, loss: out.loss, tokensPerSec: tps });
    }
    return { val };
  }
}
