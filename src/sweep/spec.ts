/**
 * Sweep spec -> trials: read the YAML, apply --set overrides, validate (zod), resolve each
 * budget's backbone, solve the allocation per rho, and expand budgets x rho (allocation trials)
 * and slots (memory trials) times seeds times variants, minus `exclude` rules (DESIGN: Trials).
 */
import { createHash } from 'node:crypto';
import { basename, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { budgetTotal, solveAllocation, type MemoryKind } from '../budget/solve.js';
import { InputError } from '../contract/errors.js';
import type { ModelConfig } from '../model/config.js';
import { parseTrial, zodInputError, type TrialConfig } from '../train/config.js';
import { canonicalJson, trialId } from '../train/trial-id.js';
import { readYamlOrJson } from '../util/load.js';
import { BackboneSchema, SweepSchema, type Backbone, type SweepSpec } from './schema.js';
import type { SweepPlan, Trial, TrialMeta, Variant } from './types.js';

export function loadSweep(file: string, sets: string[] = []): SweepPlan {
  const raw = readYamlOrJson(file);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new InputError(file, 'a sweep spec must be a YAML mapping');
  for (const s of sets) applySet(raw as Record<string, unknown>, s);
  const r = SweepSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    throw blameSet(zodInputError(r.error, file, raw, SweepSchema), sets, paths);
  }
  const spec = r.data;
  const name = spec.name ?? basename(file, extname(file));
  const warnings: string[] = [];
  let trials: Trial[];
  try {
    trials = expandTrials(spec, file, warnings);
  } catch (e) {
    if (!(e instanceof InputError) || e.where !== file || !e.field) throw e;
    // a trial's model is the spec's backbone: a field of model.* was written under backbone.*
    const path = fieldPath(e.field);
    throw blameSet(e, sets, path[0] === 'model' ? [path, ['backbone', ...path.slice(1)]] : [path]);
  }
  return { name, specHash: sha(canonicalJson(spec)), spec, trials, warnings, file: resolve(file) };
}

/** "budgets[0].pTot" or ["budgets", 0, "pTot"] -> ["budgets", "0", "pTot"] */
function fieldPath(field: string | readonly PropertyKey[]): string[] {
  return typeof field === 'string' ? (field.match(/[^.[\]]+/g) ?? []) : field.map(String);
}

const startsWith = (a: string[], b: string[]) => b.length <= a.length && b.every((k, i) => a[i] === k);

/**
 * A bad value that came from `--set` is reported as that --set, not as the spec file the user
 * did not write it in: `--set train.warmpu=10: unknown key(s) "warmpu" (did you mean "warmup"?)`.
 * `paths` are where the error is; the last --set at or above one of them (or, for an error on an
 * object, inside it) is the one to name. The field stays when it is deeper than the --set path.
 */
function blameSet(e: InputError, sets: string[], paths: readonly (readonly PropertyKey[])[]): InputError {
  for (const assignment of [...sets].reverse()) {
    const eq = assignment.indexOf('=');
    const set = fieldPath(assignment.slice(0, eq));
    for (const p of paths.map(fieldPath)) {
      if (startsWith(p, set) || (p.length > 0 && startsWith(set, p))) {
        const deeper =
          e.field !== undefined && fieldPath(e.field).length > set.length && startsWith(fieldPath(e.field), set);
        return new InputError(`--set ${assignment}`, e.message, deeper ? e.field : undefined);
      }
    }
  }
  return e;
}

/** `--set a.b[0].c=VALUE`: VALUE is YAML (numbers, lists, strings). */
export function applySet(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new InputError('--set', `${JSON.stringify(assignment)} is not path=value`);
  const path = assignment.slice(0, eq).match(/[^.[\]]+/g) ?? [];
  let value: unknown;
  try {
    value = parseYaml(assignment.slice(eq + 1));
  } catch (e) {
    throw new InputError('--set', `${assignment}: value is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  let node: Record<string, unknown> = target;
  path.forEach((key, i) => {
    const k = /^\d+$/.test(key) ? Number(key) : key;
    if (i === path.length - 1) {
      (node as Record<string | number, unknown>)[k] = value;
      return;
    }
    const next = (node as Record<string | number, unknown>)[k];
    if (next === undefined) (node as Record<string | number, unknown>)[k] = /^\d+$/.test(path[i + 1]) ? [] : {};
    else if (typeof next !== 'object' || next === null)
      throw new InputError('--set', `${assignment}: ${path.slice(0, i + 1).join('.')} is not an object`);
    node = (node as Record<string | number, unknown>)[k] as Record<string, unknown>;
  });
}

export function expandTrials(spec: SweepSpec, where: string, warnings: string[] = []): Trial[] {
  const { rho, slots, seeds, variants } = spec.axes;
  if (rho && spec.budgets.length === 0) throw new InputError(where, 'axes.rho needs at least one budget', 'budgets');
  const out = new Map<string, Trial>();
  const add = (model: ModelConfig, meta0: TrialMeta) => {
    const meta = { ...meta0, variant: metaVariant(model, meta0.variant) };
    if (excluded(spec, meta)) return;
    const config = trialConfig(spec, model, meta.seed, where);
    const id = trialId(config);
    const seen = out.get(id);
    if (!seen) out.set(id, { id, config, meta });
    else warnings.push(`${describe(meta)} trains the same model as ${describe(seen.meta)}: run once (trial ${id})`);
  };
  for (const seed of seeds) {
    for (const variant of variants) {
      if (rho) allocationTrials(spec, variant, seed, rho, where, add);
      if (slots) memoryTrials(spec, variant, seed, slots, where, add);
      if (!rho && !slots && (variant === 'dense' || variant === 'moe'))
        add(backboneModel(spec.backbone, spec, variant), {
          kind: variant === 'dense' ? 'dense' : 'memory',
          variant,
          seed,
        });
    }
  }
  if (out.size === 0) throw new InputError(where, 'the axes and exclude rules leave no trials', 'axes');
  return [...out.values()];
}

type Add = (model: ModelConfig, meta: TrialMeta) => void;

function allocationTrials(spec: SweepSpec, variant: Variant, seed: number, rhos: number[], where: string, add: Add) {
  spec.budgets.forEach((b, i) => {
    const at = `budgets[${i}]`;
    const backbone = budgetBackbone(spec, i, where);
    if (variant === 'dense')
      return add(backboneModel(backbone, spec, 'dense'), { kind: 'dense', variant, seed, budget: b.name });
    const base = backboneModel(backbone, spec, variant);
    const memory: MemoryKind = isOverEncoding(variant) ? 'overEncoding' : 'engram';
    const opts = { memory, rhoOne: variant === 'moe' ? ('drop' as const) : spec.rhoOne, where: `${where}: ${at}` };
    // one budget for every variant: the total of the memory model's rho = 1 trial
    const memoryModel = variant === 'moe' && backbone.engram ? backboneModel(backbone, spec, 'engram') : base;
    const total = budgetTotal(memoryModel, b, {
      ...opts,
      memory: variant === 'moe' ? 'engram' : memory,
      rhoOne: spec.rhoOne,
    });
    for (const r of variant === 'moe' ? [1] : rhos) {
      const a = solveAllocation(base, total, r, opts);
      add(a.model, {
        kind: 'allocation',
        variant,
        seed,
        budget: b.name,
        rho: r,
        rhoActual: round(a.rhoActual),
        slots: a.accounting.slots,
        pTotTarget: total,
        deviation: a.deviation,
      });
    }
  });
}

function memoryTrials(spec: SweepSpec, variant: Variant, seed: number, slots: number[], _where: string, add: Add) {
  // the no-memory reference: the same backbone without Engram or OverEncoding, once per seed
  if (variant === 'moe') return add(backboneModel(spec.backbone, spec, 'moe'), { kind: 'memory', variant, seed });
  if (variant !== 'engram' && !isOverEncoding(variant)) return;
  const base = backboneModel(spec.backbone, spec, variant);
  const layers = variant === 'engram' ? base.engram!.layerIds.length : 1;
  for (const m of slots) {
    const b = Math.max(1, Math.round(m / layers));
    const model = { ...base };
    if (variant === 'engram') model.engram = { ...base.engram!, baseSizes: Array(base.engram!.maxNgram - 1).fill(b) };
    else model.overEncoding = { ...base.overEncoding!, baseSizes: Array(base.overEncoding!.maxNgram - 1).fill(b) };
    add(model, { kind: 'memory', variant, seed, slots: b * layers });
  }
}

/** The spec backbone with a budget's overrides merged in, validated as a whole. */
function budgetBackbone(spec: SweepSpec, i: number, where: string): Backbone {
  const over = spec.budgets[i].backbone;
  if (!over) return spec.backbone;
  const r = BackboneSchema.safeParse(deepMerge(spec.backbone, over));
  if (!r.success) {
    const e = zodInputError(r.error, where, undefined, BackboneSchema);
    throw new InputError(where, e.message, `budgets[${i}].backbone${e.field ? '.' + e.field : ''}`);
  }
  return r.data;
}

/** The model a variant trains on this backbone: memory kept only where the variant uses it. */
function backboneModel(bb: Backbone, spec: SweepSpec, variant: Variant): ModelConfig {
  const { engram, overEncoding, moe, ...rest } = bb;
  const model: ModelConfig = { ...rest, vocabSize: spec.data.vocabSize, seqLen: spec.data.seqLen };
  if (variant !== 'dense') {
    if (!moe) throw new InputError('backbone', `variant ${variant} needs backbone.moe`, 'backbone.moe');
    model.moe = moe;
  }
  const need = (m: unknown, key: string) => {
    if (!m) throw new InputError('backbone', `variant ${variant} needs backbone.${key}`, `backbone.${key}`);
  };
  if (variant === 'engram') {
    need(engram, 'engram');
    model.engram = { ...engram!, baseSizes: engram!.baseSizes ?? Array(engram!.maxNgram - 1).fill(1) };
  }
  if (isOverEncoding(variant)) {
    need(overEncoding, 'overEncoding');
    model.overEncoding = {
      ...overEncoding!,
      baseSizes: overEncoding!.baseSizes ?? Array(overEncoding!.maxNgram - 1).fill(1),
    };
    // tokenWeight is set only for 'full': an absent one is the reference's mean, and keeps the ids
    if (variant === 'overencoding-full') model.overEncoding.tokenWeight = 'full';
  }
  return model;
}

const isOverEncoding = (v: Variant) => v === 'overencoding' || v === 'overencoding-full';

/**
 * The variant a trial is filed under names the OverEncoding setting it trains: variant
 * overencoding on a backbone whose overEncoding.tokenWeight is 'full' is overencoding-full.
 */
const metaVariant = (model: ModelConfig, variant: Variant): Variant =>
  isOverEncoding(variant) && model.overEncoding?.tokenWeight === 'full' ? 'overencoding-full' : variant;

/** One seed fixes init, batch order and hash multipliers for every trial (common random numbers). */
function trialConfig(spec: SweepSpec, m: ModelConfig, seed: number, where: string): TrialConfig {
  const { vocabSize: _v, seqLen: _s, ...model } = m;
  void _v;
  void _s;
  if (model.engram) model.engram = { ...model.engram, seed };
  if (model.overEncoding) model.overEncoding = { ...model.overEncoding, seed };
  const horizons = spec.axes.horizons;
  if (horizons && spec.train.horizons)
    throw new InputError(
      where,
      'give horizons once: in axes.horizons (the sweep axis) or train.horizons',
      'train.horizons',
    );
  try {
    return parseTrial(
      { data: spec.data, model, train: { ...spec.train, seed, ...(horizons ? { horizons } : {}) } },
      where,
    );
  } catch (e) {
    // the trial's train.horizons is the spec's axes.horizons: name the field the user wrote
    if (horizons && e instanceof InputError && e.field === 'train.horizons')
      throw new InputError(where, e.message, 'axes.horizons');
    throw e;
  }
}

function excluded(spec: SweepSpec, meta: TrialMeta): boolean {
  return spec.exclude.some((rule) =>
    Object.entries(rule).every(([k, v]) => v === undefined || (meta as unknown as Record<string, unknown>)[k] === v),
  );
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (!isObj(a) || !isObj(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(a[k], v);
  return out;
}

const describe = (m: TrialMeta) =>
  [
    m.variant,
    m.budget && `budget ${m.budget}`,
    m.rho !== undefined && `rho ${m.rho}`,
    m.slots !== undefined && m.kind === 'memory' && `slots ${m.slots}`,
    `seed ${m.seed}`,
  ]
    .filter(Boolean)
    .join(', ');
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const round = (x: number) => Math.round(x * 1e4) / 1e4;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
