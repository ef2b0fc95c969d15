import type { ModelConfig } from '../model/config.js';
import type { TrialConfig } from './config.js';

/** The model of a trial: the trial's model section plus the data's vocabulary and length. */
export function modelConfig(c: TrialConfig): ModelConfig {
  const m = c.model;
  return {
    vocabSize: c.data.vocabSize,
    seqLen: c.data.seqLen,
    dModel: m.dModel,
    nLayers: m.nLayers,
    nHeads: m.nHeads,
    ffnHidden: m.ffnHidden,
    moe: m.moe,
    engram: m.engram,
    overEncoding: m.overEncoding,
    ropeBase: m.ropeBase,
    normEps: m.normEps,
  };
}
