/**
 * Every trainable parameter as data: name, shape, role, init. The tfjs model is built from this
 * list and the parameter accounting of docs/SPEC.md section 4 is read off it, so the two cannot disagree.
 * Linear weights are stored [in, out] (y = x W) so forward matmuls take the fast untransposed
 * path; import/export from the torch layout [out, in] transposes.
 */
import type { ModelConfig } from './config.js';
import { dMem } from './config.js';

/**
 * embed/head: excluded from P_tot and P_act. active: used by every token. expert: one routed
 * expert's share (topK of them active per token). table: hashed memory rows (sparse).
 */
export type Role = 'embed' | 'head' | 'active' | 'expert' | 'table';

export interface ParamSpec {
  name: string;
  shape: number[];
  role: Role;
  init: { kind: 'normal'; std: number } | { kind: 'ones' } | { kind: 'zeros' };
  /** for role expert: how many experts the tensor stacks */
  experts?: number;
}

const INIT_STD = 0.02;

export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const d = c.dModel;
  const out: ParamSpec[] = [];
  const normal = (std = INIT_STD) => ({ kind: 'normal' as const, std });
  const ones = { kind: 'ones' as const };
  // GPT-2 style: residual-output projections scaled by 1/sqrt(2 L)
  const resid = INIT_STD / Math.sqrt(2 * c.nLayers);
  out.push({ name: 'embed', shape: [c.vocabSize, d], role: 'embed', init: normal() });
  if (c.overEncoding) {
    out.push({ name: 'overEncoding.proj', shape: [dMem(c.overEncoding), d], role: 'active', init: normal() });
  }
  for (let l = 0; l < c.nLayers; l++) {
    const p = `layers.${l}`;
    if (c.engram?.layerIds.includes(l)) out.push(...engramSpecs(c, l));
    out.push({ name: `${p}.attnNorm`, shape: [d], role: 'active', init: ones });
    out.push({ name: `${p}.attn.wqkv`, shape: [d, 3 * d], role: 'active', init: normal() });
    out.push({ name: `${p}.attn.wo`, shape: [d, d], role: 'active', init: normal(resid) });
    out.push({ name: `${p}.ffnNorm`, shape: [d], role: 'active', init: ones });
    if (!c.moe) {
      out.push({ name: `${p}.ffn.wgu`, shape: [d, 2 * c.ffnHidden], role: 'active', init: normal() });
      out.push({ name: `${p}.ffn.wdown`, shape: [c.ffnHidden, d], role: 'active', init: normal(resid) });
      continue;
    }
    const { shared, routed, expertHidden: h } = c.moe;
    if (shared > 0) {
      // shared experts are always on: stacked along the hidden axis they are one wide SwiGLU
      out.push({ name: `${p}.moe.shared.wgu`, shape: [d, 2 * shared * h], role: 'active', init: normal() });
      out.push({ name: `${p}.moe.shared.wdown`, shape: [shared * h, d], role: 'active', init: normal(resid) });
    }
    out.push({ name: `${p}.moe.router`, shape: [d, routed], role: 'active', init: normal() });
    out.push({
      name: `${p}.moe.routed.wgu`,
      shape: [routed, d, 2 * h],
      role: 'expert',
      experts: routed,
      init: normal(),
    });
    out.push({
      name: `${p}.moe.routed.wdown`,
      shape: [routed, h, d],
      role: 'expert',
      experts: routed,
      init: normal(resid),
    });
  }
  out.push({ name: 'finalNorm', shape: [d], role: 'active', init: ones });
  out.push({ name: 'head', shape: [d, c.vocabSize], role: 'head', init: normal() });
  return out;
}

/** Engram dense part (docs/SPEC.md section 3 / section 6 names): all active. */
function engramSpecs(c: ModelConfig, l: number): ParamSpec[] {
  const e = c.engram!;
  const d = c.dModel;
  const m = dMem(e);
  const p = `layers.${l}.engram`;
  const ones = { kind: 'ones' as const };
  const zeros = { kind: 'zeros' as const };
  // projections: the variance of torch's nn.Linear default, U(+-1/sqrt(in)), as the reference
  const out: ParamSpec[] = [
    { name: `${p}.value`, shape: [m, d], role: 'active', init: { kind: 'normal', std: 1 / Math.sqrt(3 * m) } },
    { name: `${p}.valueBias`, shape: [d], role: 'active', init: zeros },
  ];
  for (let g = 0; g < e.hcMult; g++) {
    out.push({
      name: `${p}.key.${g}`,
      shape: [m, d],
      role: 'active',
      init: { kind: 'normal', std: 1 / Math.sqrt(3 * m) },
    });
    out.push({ name: `${p}.keyBias.${g}`, shape: [d], role: 'active', init: zeros });
    out.push({ name: `${p}.keyNorm.${g}`, shape: [d], role: 'active', init: ones });
    out.push({ name: `${p}.queryNorm.${g}`, shape: [d], role: 'active', init: ones });
    out.push({ name: `${p}.convNorm.${g}`, shape: [d], role: 'active', init: ones });
  }
  // depthwise causal conv, zero-initialised as in the paper: the module starts as v~ alone
  out.push({ name: `${p}.conv`, shape: [e.hcMult * d, e.kernelSize], role: 'active', init: zeros });
  return out;
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
