/**
 * The iso-parameter budget solver (docs/SPEC.md section 4). For a budget P_tot and an allocation rho, set
 * the number of routed experts E and the memory base size b (one for all orders) so that
 *   P_tot(E, b) = P_tot, and  X (E - k) = rho * P_sparse,
 * where X is one routed expert's parameters over all layers and k the activated experts. All else
 * (width, depth, attention, shared and activated experts) stays fixed, so the backbone's active
 * part is identical by construction; the router (d per routed expert) and the memory's dense part
 * (absent at rho = 1) still move P_act a little: reported as drift. Derivation: with
 * A = P_tot - P_tot(k, no memory) - D and R the router's share per expert,
 *   A = (R + X)(E - k) + T,  T = X (E - k)(1 - rho) / rho  =>  E - k = A rho / (rho R + X).
 * Integer experts leave a remainder the tables absorb; the prime table sizes are the real ones.
 */
import { InputError } from '../contract/errors.js';
import { account, type Accounting } from '../model/accounting.js';
import type { HashedMemoryConfig, ModelConfig } from '../model/config.js';

export type MemoryKind = 'engram' | 'overEncoding';

export interface Allocation {
  rho: number;
  /** X (E - k) / P_sparse with the integer E and the real tables */
  rhoActual: number;
  routedExperts: number;
  /** base size per table (same for every order) */
  baseSize: number;
  accounting: Accounting;
  model: ModelConfig;
  /** (P_tot - target) / target */
  deviation: number;
}

export interface SolveOptions {
  memory: MemoryKind;
  /** rho = 1: drop the memory (the paper's pure MoE) or keep it on 1-slot tables (P_act matches) */
  rhoOne: 'drop' | 'minimal';
  /** where to point bad-input messages */
  where: string;
}

const withExperts = (m: ModelConfig, routed: number): ModelConfig => ({ ...m, moe: { ...m.moe!, routed } });

function withMemory(m: ModelConfig, kind: MemoryKind, base: number | null): ModelConfig {
  const { engram, overEncoding, ...rest } = m;
  const mem = kind === 'engram' ? engram : overEncoding;
  if (base === null || !mem) return rest;
  const sized = { ...mem, baseSizes: Array(mem.maxNgram - 1).fill(base) } as HashedMemoryConfig;
  return kind === 'engram' ? { ...rest, engram: { ...engram!, ...sized } } : { ...rest, overEncoding: sized };
}

/** Per-expert costs and the fixed parts, read off the real accounting. */
function costs(backbone: ModelConfig, kind: MemoryKind) {
  const k = backbone.moe!.topK;
  const at = (E: number) => account(withMemory(withExperts(backbone, E), kind, null));
  const a0 = at(k);
  const a1 = at(k + 1);
  const X = a1.pExperts - a0.pExperts; // one routed expert, all layers
  const R = a1.pTot - a0.pTot - X; // its router columns
  const withMem = account(withMemory(withExperts(backbone, k), kind, 1));
  const D = withMem.pAct - a0.pAct; // memory dense part (projections, norms, conv)
  return { k, X, R, D, a0 };
}

/**
 * P_tot of a budget: given directly, or from ratio = P_tot / P_act of the rho = 1 model at that
 * budget (pure MoE, or MoE with 1-slot tables when rhoOne is minimal). With a ratio the total is
 * snapped to a whole number of experts, so the rho = 1 trial meets it exactly and every other
 * rho absorbs the remainder in its tables.
 */
export function budgetTotal(backbone: ModelConfig, b: { pTot?: number; ratio?: number }, o: SolveOptions): number {
  requireMoe(backbone, o.where);
  if (b.pTot !== undefined) return b.pTot;
  const { k, X, R, D, a0 } = costs(backbone, o.memory);
  const keep = o.rhoOne === 'minimal' ? 1 : 0;
  const fixedAct = a0.pAct + keep * D;
  const fixedTot = a0.pTot + keep * (D + tablesAt(backbone, o.memory, k, 1));
  const ratio = b.ratio!;
  // ratio (fixedAct + R e) = fixedTot + (R + X) e
  const e = (ratio * fixedAct - fixedTot) / (R + X - ratio * R);
  if (!(e >= 0)) {
    throw new InputError(
      o.where,
      `ratio ${ratio} is below P_tot/P_act = ${(fixedTot / fixedAct).toFixed(3)} of the backbone with only its activated experts (P_act above P_tot)`,
      'ratio',
    );
  }
  return fixedTot + (R + X) * Math.round(e);
}

export function solveAllocation(backbone: ModelConfig, pTot: number, rho: number, o: SolveOptions): Allocation {
  requireMoe(backbone, o.where);
  const { k, X, R, D, a0 } = costs(backbone, o.memory);
  if (pTot < a0.pTot) {
    throw new InputError(
      o.where,
      `P_tot ${pTot} is below the backbone's own ${a0.pTot} with ${k} routed experts: P_act above P_tot`,
      'pTot',
    );
  }
  const keepMemory = rho < 1 || o.rhoOne === 'minimal';
  let E: number;
  if (rho === 0) E = k;
  else if (!keepMemory) E = k + Math.round((pTot - a0.pTot) / (R + X));
  else {
    const A = pTot - a0.pTot - D - (o.rhoOne === 'minimal' && rho === 1 ? tablesAt(backbone, o.memory, k, 1) : 0);
    E = k + (rho === 1 ? Math.round(A / (R + X)) : Math.round((A * rho) / (rho * R + X)));
  }
  if (E < k) {
    throw new InputError(
      o.where,
      `rho ${rho} needs fewer routed experts (${E}) than activated ones (${k}): P_tot too small`,
      'pTot',
    );
  }
  let base: number | null = null;
  if (keepMemory) {
    const rest = pTot - account(withMemory(withExperts(backbone, E), o.memory, null)).pTot - D;
    base = rho === 1 ? 1 : baseForTables(backbone, o.memory, E, rest, o.where, rho);
  }
  const model = withMemory(withExperts(backbone, E), o.memory, base);
  const acc = account(model);
  const expertSparse = (E - k) * X;
  return {
    rho,
    rhoActual: acc.pSparse > 0 ? expertSparse / acc.pSparse : 1,
    routedExperts: E,
    baseSize: base ?? 0,
    accounting: acc,
    model,
    deviation: (acc.pTot - pTot) / pTot,
  };
}

function tablesAt(backbone: ModelConfig, kind: MemoryKind, E: number, base: number): number {
  return account(withMemory(withExperts(backbone, E), kind, base)).pTables;
}

/** The base size whose real prime tables come closest to `target` parameters (binary search). */
function baseForTables(
  backbone: ModelConfig,
  kind: MemoryKind,
  E: number,
  target: number,
  where: string,
  rho: number,
): number {
  if (target < tablesAt(backbone, kind, E, 1)) {
    throw new InputError(
      where,
      `rho ${rho} leaves ${Math.round(target)} parameters for the memory tables: below 1 slot per table`,
      'pTot',
    );
  }
  let lo = 1;
  let hi = 2;
  while (tablesAt(backbone, kind, E, hi) < target) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (tablesAt(backbone, kind, E, mid) <= target) lo = mid;
    else hi = mid;
  }
  const dLo = Math.abs(target - tablesAt(backbone, kind, E, lo));
  const dHi = Math.abs(tablesAt(backbone, kind, E, hi) - target);
  return dHi < dLo ? hi : lo;
}

function requireMoe(m: ModelConfig, where: string): void {
  if (!m.moe) throw new InputError(where, 'an allocation budget needs a MoE backbone (backbone.moe)', 'backbone.moe');
}
