/**
 * One trial end to end: data -> model -> optimiser loop -> evaluation -> the files of the
 * results contract (DESIGN.md): config.json, metrics.jsonl, gates.json (Engram), and result.json
 * last, atomically: its presence means the trial finished, ok or failed.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HorizonResult, TrialResult } from '../contract/results.js';
import { account } from '../model/accounting.js';
import { writeTrialConfig } from '../contract/config-file.js';
import { writeGates } from '../contract/gates.js';
import { buildResult, writeResult, type ResultOutcome } from '../contract/result.js';
import { AdamW } from './adamw.js';
import type { TrialConfig } from './config.js';
import { describe, gateExcerpt, setup, type Context } from './context.js';
import { Loop, type RunOptions } from './loop.js';
import { horizonPlan, learningRate, wsdLearningRate, type HorizonStep } from './schedule.js';
import { readSnapshotInfo, restoreSnapshot, SNAPSHOT_DIR, writeSnapshot, type SnapshotKey } from './snapshot.js';
import { trialId } from './trial-id.js';

export type { TrialResult } from '../contract/results.js';

export type { RunOptions };

export async function runTrial(c: TrialConfig, o: RunOptions): Promise<TrialResult> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  mkdirSync(o.dir, { recursive: true });
  const base = { backend: o.backend.name, native: o.backend.native, threads: o.backend.threads };
  const ctx = await setup(c, log);
  const accounting = account(ctx.model.config);
  writeTrialConfig(o.dir, { ...c, meta: o.meta, accounting, data: { ...c.data, stats: ctx.data.stats } });
  log(describe(accounting));
  const opt = new AdamW({ beta1: c.train.beta1, beta2: c.train.beta2, eps: 1e-8, weightDecay: c.train.weightDecay });
  const loop = new Loop(ctx, opt, join(o.dir, 'metrics.jsonl'), o);
  const finish = (r: ResultOutcome, seconds: number): TrialResult => {
    const result = buildResult(r, { backend: o.backend, seconds, unigramValLoss: ctx.data.stats.unigramValLoss });
    if (r.status === 'ok' && c.model.engram) writeGates(o.dir, gateExcerpt(ctx));
    writeResult(o.dir, result);
    // a finished trial never resumes: its branch-point snapshot (the size of the model) goes
    rmSync(join(o.dir, SNAPSHOT_DIR), { recursive: true, force: true });
    opt.dispose();
    ctx.model.dispose();
    return result;
  };
  if (!c.train.horizons) {
    rmSync(loop.metricsFile, { force: true });
    loop.start(c.train.steps);
    const r = loop.train(0, c.train.steps, (s) => learningRate(s, c.train));
    const seconds = (Date.now() - t0) / 1000;
    if ('diverged' in r)
      return finish(
        {
          status: 'failed',
          reason: 'diverged',
          step: r.diverged,
          valLoss: null,
          valBpb: null,
          tokens: r.diverged * loop.tokensPerStep,
        },
        seconds,
      );
    loop.bar?.done(`val ${r.val.loss.toFixed(4)} nats`);
    return finish(
      { status: 'ok', valLoss: r.val.loss, valBpb: r.val.bpb, tokens: c.train.steps * loop.tokensPerStep },
      seconds,
    );
  }
  const h = await trainHorizons(c, o, ctx, opt, loop, { trialId: trialId(c), ...base }, t0);
  if ('diverged' in h)
    return finish(
      {
        status: 'failed',
        reason: 'diverged',
        step: h.diverged,
        valLoss: null,
        valBpb: null,
        tokens: h.diverged * loop.tokensPerStep,
        horizons: h.horizons,
      },
      h.seconds,
    );
  const last = h.horizons[h.horizons.length - 1];
  loop.bar?.done(`val ${last.valLoss.toFixed(4)} nats at ${last.tokens} tokens`);
  return finish(
    {
      status: 'ok',
      valLoss: last.valLoss,
      valBpb: last.valBpb,
      tokens: last.tokens,
      horizons: h.horizons,
      ...(h.resumedFrom !== undefined ? { resumedFrom: h.resumedFrom } : {}),
    },
    h.seconds,
  );
}

/**
 * The WSD trial: the stable trunk once; at each horizon's branch point a snapshot on disk, the
 * cooldown, a full validation, then back to the snapshot for the trunk (the last horizon ends the
 * trial). A snapshot left by an interrupted run of this trial on this path is resumed from.
 */
type HorizonsOutcome = { horizons: HorizonResult[]; seconds: number } & (
  | { diverged: number }
  | { resumedFrom?: number }
);

async function trainHorizons(
  c: TrialConfig,
  o: RunOptions,
  ctx: Context,
  opt: AdamW,
  loop: Loop,
  key: SnapshotKey,
  t0: number,
): Promise<HorizonsOutcome> {
  const plan = horizonPlan(c.train.horizons!, loop.tokensPerStep, c.train.cooldown!, c.train.warmup) as HorizonStep[];
  const shape = c.train.cooldownShape!;
  const state = { model: ctx.model, opt, memories: ctx.memories };
  const snap = readSnapshotInfo(o.dir, key);
  let step = 0;
  let horizons: HorizonResult[] = [];
  let offset = 0;
  if (snap) {
    restoreSnapshot(o.dir, state);
    ({ step, horizons, seconds: offset } = snap);
    writeFileSync(loop.metricsFile, snap.metrics);
    (o.log ?? (() => {}))(
      `resuming from the snapshot at step ${step} (${horizons.length} of ${plan.length} horizons done)`,
    );
  } else rmSync(loop.metricsFile, { force: true });
  const clock = () => offset + (Date.now() - t0) / 1000;
  const todo = plan.filter((p) => !horizons.some((d) => d.tokens === p.tokens));
  loop.start(todo[todo.length - 1].steps - step + todo.slice(0, -1).reduce((s, p) => s + p.steps - p.branch, 0));
  for (const [i, p] of todo.entries()) {
    const trunk = loop.train(step, p.branch, (s) => wsdLearningRate(s, c.train, null, shape), { evalAtEnd: false });
    if ('diverged' in trunk) return { diverged: trunk.diverged, horizons, seconds: clock() };
    step = p.branch;
    writeSnapshot(o.dir, state, {
      key,
      step,
      horizons,
      seconds: clock(),
      metrics: readFileSync(loop.metricsFile, 'utf8'),
    });
    const cool = loop.train(p.branch, p.steps, (s) => wsdLearningRate(s, c.train, p, shape), { branch: p.tokens });
    if ('diverged' in cool) return { diverged: cool.diverged, horizons, seconds: clock() };
    horizons = [
      ...horizons,
      { tokens: p.tokens, step: p.steps, valLoss: cool.val.loss, valBpb: cool.val.bpb, seconds: clock() },
    ];
    if (i < todo.length - 1) restoreSnapshot(o.dir, state);
  }
  return { horizons, seconds: clock(), resumedFrom: snap?.step };
}
