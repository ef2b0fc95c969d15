import { describe, expect, it } from 'vitest';
import { budgetTotal, solveAllocation } from '../../src/budget/solve.js';
import { account } from '../../src/model/accounting.js';
import type { ModelConfig } from '../../src/model/config.js';
import { loadSweep } from '../../src/sweep/spec.js';
import { modelConfig } from '../../src/train/model-config.js';
import { inputErrorLine } from '../helpers/input-error.js';

const rhos = Array.from({ length: 11 }, (_, i) => i / 10);

describe('budget solver on the shipped specs', () => {
  for (const file of ['sweeps/quick.yaml', 'sweeps/ushape.yaml', 'sweeps/gpu.yaml']) {
    it(`${file}: P_tot within 1% at rho = 0, 0.1, ..., 1 and P_act drift within 3%`, () => {
      const plan = loadSweep(file, ['axes.rho=[' + rhos.join(',') + ']', 'axes.variants=[engram]', 'axes.seeds=[0]']);
      const pActs = new Map<string, Map<number, number>>(); // budget -> rho -> P_act
      for (const t of plan.trials) {
        expect(Math.abs(t.meta.deviation!)).toBeLessThan(0.01);
        expect(Math.abs(t.meta.rhoActual! - t.meta.rho!)).toBeLessThan(0.1);
        const acts = pActs.get(t.meta.budget!) ?? new Map<number, number>();
        acts.set(t.meta.rho!, account(modelConfig(t.config)).pAct);
        pActs.set(t.meta.budget!, acts);
      }
      expect(plan.trials).toHaveLength(11 * pActs.size);
      // docs/SPEC.md section 4: the router and the memory's dense part move P_act with rho; the drift is
      // P_act against the rho = 1 trial's, whose P_act sets the budget (P_tot / P_act)
      for (const [budget, acts] of pActs) {
        expect([...acts.keys()].sort()).toEqual(rhos);
        const ref = acts.get(1)!;
        for (const [rho, pAct] of acts) {
          expect(Math.abs(pAct - ref) / ref, `${file} ${budget} rho ${rho}: P_act ${pAct} vs ${ref}`).toBeLessThan(
            0.03,
          );
        }
        // and the drift is real: the router shrinks with the experts at low rho
        expect(acts.get(0)!).toBeLessThan(ref);
      }
    });
  }
});

const backbone: ModelConfig = {
  vocabSize: 4096,
  dModel: 128,
  nLayers: 4,
  nHeads: 4,
  seqLen: 128,
  ffnHidden: 384,
  ropeBase: 1e4,
  normEps: 1e-6,
  moe: { shared: 1, routed: 2, topK: 2, expertHidden: 96, gamma: 1e-3, seqBalance: 0 },
  engram: {
    layerIds: [1],
    maxNgram: 3,
    headsPerNgram: 4,
    dimPerNgram: 64,
    baseSizes: [1, 1],
    initStd: 1,
    seed: 0,
    kernelSize: 4,
    signedSqrt: true,
    hcMult: 1,
  },
};
const opts = { memory: 'engram' as const, rhoOne: 'minimal' as const, where: 'spec' };

describe('solveAllocation', () => {
  it('matches the pilot: ratio 4.2 gives P_tot ~3.1M, P_act ~0.74M, 16 extra experts at rho = 1', () => {
    const P = budgetTotal(backbone, { ratio: 4.2 }, opts);
    expect(P / 1e6).toBeCloseTo(3.1, 1);
    const one = solveAllocation(backbone, P, 1, opts);
    expect(one.deviation).toBe(0);
    expect(one.accounting.pAct / 1e6).toBeCloseTo(0.74, 1);
    expect(one.routedExperts).toBe(18);
    const zero = solveAllocation(backbone, P, 0, opts);
    expect(zero.routedExperts).toBe(2);
    expect(zero.rhoActual).toBe(0);
    // all sparse parameters in tables at rho = 0
    expect(zero.accounting.pSparse).toBe(zero.accounting.pTables);
  });

  it('the realised rho follows the nominal one and only experts and slots change', () => {
    const P = budgetTotal(backbone, { ratio: 4.2 }, opts);
    let lastSlots = Infinity;
    for (const rho of rhos) {
      const a = solveAllocation(backbone, P, rho, opts);
      expect(a.accounting.slots).toBeLessThanOrEqual(lastSlots);
      lastSlots = a.accounting.slots;
      expect(a.model.dModel).toBe(128);
      expect(a.model.moe!.topK).toBe(2);
      expect(a.model.engram!.baseSizes[0]).toBe(a.model.engram!.baseSizes[1]);
    }
  });

  it('says why a budget cannot be met', () => {
    const msg = inputErrorLine;
    expect(msg(() => budgetTotal(backbone, { ratio: 1.000001 }, opts))).toMatch(
      /ratio 1.000001 is below P_tot\/P_act = 1.002 .*P_act above P_tot/,
    );
    expect(msg(() => solveAllocation(backbone, 100_000, 0.5, opts))).toMatch(
      /P_tot 100000 is below the backbone's own .* P_act above P_tot/,
    );
    // just above the bare backbone: no room for the memory's dense part
    const { engram: _e, ...bare } = backbone;
    const P = account(bare).pTot + 1000;
    expect(msg(() => solveAllocation(backbone, P, 0.5, opts))).toMatch(
      /rho 0.5 leaves -\d+ parameters for the memory tables: below 1 slot per table/,
    );
    expect(msg(() => solveAllocation(backbone, P, 0, opts))).toMatch(
      /rho 0 leaves -?\d+ parameters for the memory tables: below 1 slot per table/,
    );
  });
});
