/**
 * Sweep spec -> trials: read the YAML, apply --set overrides, validate (zod), resolve each
 * budget's backbone, solve the allocation per rho, and expand budgets x rho (allocation trials)
 * and slots (memory trials) times seeds times variants, minus `exclude` rules (DESIGN: Trials).
 */
import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { budgetTotal, solveAllocation, type MemoryKind } from '../budget/solve.js';
import { InputError } from '../cli/errors.js';
import type { ModelConfig } from '../model/config.js';
import { parseTrial, zodInputError, type TrialConfig } from '../train/config.js';
import { canonicalJson, trialId } from '../train/trial-id.js';
import { readYamlOrJson } from '../util/load.js';
import { BackboneSchema, SweepSchema, type Backbone, type SweepSpec } from './schema.js';
import type { SweepPlan, Trial, TrialMeta, Variant } from './types.js';

export function loadSweep(file: string, sets: string[] = []): SweepPlan {
  const raw = readYamlOrJson(file);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(file, 'a sweep spec must be a YAML mapping');
  for (const s of sets) applySet(raw as Record<string, unknown>, s);
  const r = SweepSchema.safeParse(raw);
  if (!r.success) throw zodInputError(r.error, file, raw);
  const spec = r.data;
  const name = spec.name ?? basename(file, extname(file));
  const warnings: string[] = [];
  return { name, specHash: sha(canonicalJson(spec)), spec, trials: expandTrials(spec, file, warnings), warnings };
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
    else if (typeof next !== 'object' || next === null) throw new InputError('--set', `${assignment}: ${path.slice(0, i + 1).join('.')} is not an object`);
    node = (node as Record<string | number, unknown>)[k] as Record<string, unknown>;
  });
}

export function expandTrials(spec: SweepSpec, where: string, warnings: string[] = []): Trial[] {
  const { rho, slots, seeds, variants } = spec.axes;
  if (rho && spec.budgets.length === 0) throw new InputError(where, 'axes.rho needs at least one budget', 'budgets');
  const out = new Map<string, Trial>();
  const add = (model: ModelConfig, meta: TrialMeta) => {
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
      if (!rho && !slots && (variant === 'dense' || variant === 'moe')) add(backboneModel(spec.backbone, spec, variant), { kind: variant === 'dense' ? 'dense' : 'memory', variant, seed });
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
    if (variant === 'dense') return add(backboneModel(backbone, spec, 'dense'), { kind: 'dense', variant, seed, budget: b.name });
    const base = backboneModel(backbone, spec, variant);
    const memory: MemoryKind = variant === 'overencoding' ? 'overEncoding' : 'engram';
    const opts = { memory, rhoOne: variant === 'moe' ? ('drop' as const) : spec.rhoOne, where: `${where}: ${at}` };
    // one budget for every variant: the total of the memory model's rho = 1 trial
    const memoryModel = variant === 'moe' && backbone.engram ? backboneModel(backbone, spec, 'engram') : base;
    const total = budgetTotal(memoryModel, b, { ...opts, memory: variant === 'moe' ? 'engram' : memory, rhoOne: spec.rhoOne });
    for (const r of variant === 'moe' ? [1] : rhos) {
      const a = solveAllocation(base, total, r, opts);
      add(a.model, { kind: 'allocation', variant, seed, budget: b.name, rho: r, rhoActual: round(a.rhoActual), slots: a.accounting.slots, pTotTarget: total, deviation: a.deviation });
    }
  });
}

function memoryTrials(spec: SweepSpec, variant: Variant, seed: number, slots: number[], where: string, add: Add) {
  if (variant !== 'engram' && variant !== 'overencoding') return;
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
    const e = zodInputError(r.error, where);
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
  if (variant === 'overencoding') {
    need(overEncoding, 'overEncoding');
    model.overEncoding = { ...overEncoding!, baseSizes: overEncoding!.baseSizes ?? Array(overEncoding!.maxNgram - 1).fill(1) };
  }
  return model;
}

/** One seed fixes init, batch order and hash multipliers for every trial (common random numbers). */
function trialConfig(spec: SweepSpec, m: ModelConfig, seed: number, where: string): TrialConfig {
  const { vocabSize: _v, seqLen: _s, ...model } = m;
  void _v;
  void _s;
  if (model.engram) model.engram = { ...model.engram, seed };
  if (model.overEncoding) model.overEncoding = { ...model.overEncoding, seed };
  return parseTrial({ data: spec.data, model, train: { ...spec.train, seed } }, where);
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
  [m.variant, m.budget && `budget ${m.budget}`, m.rho !== undefined && `rho ${m.rho}`, m.slots !== undefined && m.kind === 'memory' && `slots ${m.slots}`, `seed ${m.seed}`]
    .filter(Boolean)
    .join(', ');
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const round = (x: number) => Math.round(x * 1e4) / 1e4;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
