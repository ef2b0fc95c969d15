import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { loadSweep } from '../../src/sweep/spec.js';
import { trialId } from '../../src/train/trial-id.js';
import { inputErrorLine } from '../helpers/input-error.js';

const dir = mkdtempSync(join(tmpdir(), 'es-spec-'));
const specFile = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

const line = inputErrorLine;

const base = `
backbone:
  dModel: 32
  nLayers: 2
  nHeads: 2
  moe: { shared: 1, routed: 4, topK: 2, expertHidden: 16 }
  engram: { layerIds: [1], maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16 }
  overEncoding: { maxNgram: 3, headsPerNgram: 2, dimPerNgram: 16 }
budgets: [{ name: b, ratio: 3 }]
`;

describe('sweep spec expansion', () => {
  it('budget x rho x seeds x variants, minus exclude rules, ids unique and stable', () => {
    const f = specFile('a.yaml', base + `
axes: { rho: [0, 0.5, 1], seeds: [0, 1], variants: [engram, moe, dense] }
exclude: [{ variant: dense, seed: 1 }]
rhoOne: minimal
`);
    const plan = loadSweep(f);
    expect(plan.name).toBe('a');
    const count = (v: string) => plan.trials.filter((t) => t.meta.variant === v).length;
    expect(count('engram')).toBe(6);
    expect(count('moe')).toBe(2);
    expect(count('dense')).toBe(1);
    expect(new Set(plan.trials.map((t) => t.id)).size).toBe(plan.trials.length);
    for (const t of plan.trials) {
      expect(t.id).toBe(trialId(t.config));
      expect(t.config.train.seed).toBe(t.meta.seed);
      if (t.config.model.engram) expect(t.config.model.engram.seed).toBe(t.meta.seed); // one seed: init, hashing, batches
    }
    // the same spec gives the same ids and hash
    const again = loadSweep(f);
    expect(again.specHash).toBe(plan.specHash);
    expect(again.trials.map((t) => t.id)).toEqual(plan.trials.map((t) => t.id));
  });

  it('memory trials: fixed backbone x slots, Engram and OverEncoding', () => {
    const f = specFile('m.yaml', base.replace(/budgets.*\n/, '') + `
axes: { slots: [100, 1000], variants: [engram, overencoding] }
`);
    const plan = loadSweep(f);
    expect(plan.trials.map((t) => [t.meta.variant, t.meta.slots])).toEqual([['engram', 100], ['engram', 1000], ['overencoding', 100], ['overencoding', 1000]]);
    expect(plan.trials[1].config.model.moe!.routed).toBe(4);
    expect(plan.trials[3].config.model.overEncoding!.baseSizes).toEqual([1000, 1000]);
  });

  it('--set overrides any field, validated like the file, and changes the ids', () => {
    const f = specFile('s.yaml', base + 'axes: { rho: [0, 1] }\n');
    const a = loadSweep(f);
    const b = loadSweep(f, ['train.steps=7', 'axes.seeds=[3]']);
    expect(b.trials[0].config.train.steps).toBe(7);
    expect(b.trials[0].meta.seed).toBe(3);
    expect(b.specHash).not.toBe(a.specHash);
    expect(line(() => loadSweep(f, ['axes.rho=[1.5]']))).toMatch(/s\.yaml: axes\.rho\[0\]: 1\.5: Too big/);
    expect(() => loadSweep(f, ['nonsense'])).toThrow(InputError);
  });

  it('bad input names file, field and value', () => {
    const cases: [string, RegExp][] = [
      ['axes: { rho: [] }\n', /axes\.rho: .*at least|Too small/],
      ['axes: { rho: [0.5] }\nbogus: 1\n', /unknown key\(s\) "bogus"/],
      ['axes: { rho: [0.5] }\nbudgets: [{ name: x }]\n', /exactly one of pTot or ratio/],
      ['budgets: [{ name: x, ratio: 2, backbone: { nHeads: 3 } }]\naxes: { rho: [0.5] }\n', /model\.nHeads: 3 does not divide dModel 32/],
      ['budgets: [{ name: x, ratio: 2, backbone: { nHeadz: 3 } }]\naxes: { rho: [0.5] }\n', /budgets\[0\]\.backbone: unknown key\(s\) "nHeadz"/],
    ];
    for (const [yaml, re] of cases) {
      const f = specFile('bad.yaml', base.replace(/budgets.*\n/, '') + yaml);
      expect(line(() => loadSweep(f))).toMatch(re);
    }
  });
});
