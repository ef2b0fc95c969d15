/**
 * The sweep spec schema: the one source of truth. The JSON Schema (sweeps/sweep.schema.json) and
 * the docs table (sweeps/README.md) are generated from it by `npm run gen:schema`, and a test
 * checks they are current. Unknown keys are errors everywhere.
 */
import { z } from 'zod';
import { DataSchema, EngramSchema, ModelSchema, MoeSchema, OverEncodingSchema, TrainSchema } from '../train/config.js';

const rho = z.number().min(0).max(1);

/** The backbone: a model whose memory sizes and routed-expert count the sweep may set. */
export const BackboneSchema = ModelSchema.extend({
  moe: MoeSchema.optional(),
  engram: EngramSchema.extend({ baseSizes: EngramSchema.shape.baseSizes.optional() }).optional(),
  overEncoding: OverEncodingSchema.extend({ baseSizes: OverEncodingSchema.shape.baseSizes.optional() }).optional(),
});

export const BudgetSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
    backbone: z.record(z.string(), z.unknown()).optional().describe('overrides of the spec backbone (same keys)'),
    pTot: z.number().int().positive().optional().describe('total parameters excluding embedding and head'),
    ratio: z.number().gt(1).optional().describe('P_tot / P_act of the pure-MoE model at this budget'),
  })
  .refine((b) => (b.pTot === undefined) !== (b.ratio === undefined), { message: 'give exactly one of pTot or ratio' });

export const VariantSchema = z
  .enum(['engram', 'overencoding', 'overencoding-full', 'moe', 'dense'])
  .describe(
    'overencoding: backbone.overEncoding as given (tokenWeight default mean); overencoding-full: tokenWeight full; moe: no memory (with axes.slots, one no-memory reference per seed)',
  );

export const AxesSchema = z.strictObject({
  rho: z.array(rho).min(1).optional().describe('allocation trials: share of P_sparse given to routed experts'),
  slots: z
    .array(z.number().int().min(1))
    .min(1)
    .optional()
    .describe('memory trials: slots M (base size summed over layers)'),
  seeds: z
    .array(z.number().int().min(0))
    .min(1)
    .default([0])
    .describe('each seed fixes init, hash multipliers and batch order'),
  variants: z.array(VariantSchema).min(1).default(['engram']),
  horizons: z
    .array(z.number().int().min(1))
    .min(1)
    .optional()
    .describe(
      'training tokens (increasing): each trial trains a WSD schedule once and branches a cooldown at each (train.cooldown, train.cooldownShape); train.steps must cover the last',
    ),
});

export const ExcludeSchema = z.strictObject({
  variant: VariantSchema.optional(),
  budget: z.string().optional(),
  rho: rho.optional(),
  slots: z.number().int().optional(),
  seed: z.number().int().optional(),
});

export const SweepSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
    .optional()
    .describe('results folder name (default: the file stem)'),
  description: z.string().optional(),
  data: DataSchema.prefault({}),
  backbone: BackboneSchema.prefault({}),
  budgets: z.array(BudgetSchema).default([]),
  train: TrainSchema.omit({ seed: true }).prefault({}),
  axes: AxesSchema.prefault({}),
  exclude: z.array(ExcludeSchema).default([]),
  rhoOne: z
    .enum(['drop', 'minimal'])
    .default('drop')
    .describe('rho = 1: drop the memory (paper) or keep 1-slot tables so P_act matches'),
});

export type SweepSpec = z.infer<typeof SweepSchema>;
export type Backbone = z.infer<typeof BackboneSchema>;
