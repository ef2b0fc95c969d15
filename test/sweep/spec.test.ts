import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/cli/errors.js';
import { loadSweep } from '../../src/sweep/spec.js';
import { parseTrial, withoutRecorded } from '../../src/train/config.js';
import { trialId } from '../../src/train/trial-id.js';
import { inputErrorLine } from '../helpers/input-error.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
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
    const f = specFile(
      'a.yaml',
      base +
        `
axes: { rho: [0, 0.5, 1], seeds: [0, 1], variants: [engram, moe, dense] }
exclude: [{ variant: dense, seed: 1 }]
rhoOne: minimal
`,
    );
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
    const f = specFile(
      'm.yaml',
      base.replace(/budgets.*\n/, '') +
        `
axes: { slots: [100, 1000], variants: [engram, overencoding] }
`,
    );
    const plan = loadSweep(f);
    expect(plan.trials.map((t) => [t.meta.variant, t.meta.slots])).toEqual([
      ['engram', 100],
      ['engram', 1000],
      ['overencoding', 100],
      ['overencoding', 1000],
    ]);
    expect(plan.trials[1].config.model.moe!.routed).toBe(4);
    expect(plan.trials[3].config.model.overEncoding!.baseSizes).toEqual([1000, 1000]);
  });

  it('memory trials: variant moe adds one no-memory reference per seed, overencoding-full the second OverEncoding setting', () => {
    const f = specFile(
      'ref.yaml',
      base.replace(/budgets.*\n/, '') +
        `
axes: { slots: [100, 1000], seeds: [0, 1], variants: [engram, overencoding, overencoding-full, moe] }
`,
    );
    const plan = loadSweep(f);
    expect(plan.warnings).toEqual([]);
    const seed0 = plan.trials.filter((t) => t.meta.seed === 0);
    expect(seed0.map((t) => [t.meta.variant, t.meta.slots])).toEqual([
      ['engram', 100],
      ['engram', 1000],
      ['overencoding', 100],
      ['overencoding', 1000],
      ['overencoding-full', 100],
      ['overencoding-full', 1000],
      ['moe', undefined],
    ]);
    const refs = plan.trials.filter((t) => t.meta.variant === 'moe');
    expect(refs.map((t) => t.meta)).toEqual([
      { kind: 'memory', variant: 'moe', seed: 0 },
      { kind: 'memory', variant: 'moe', seed: 1 },
    ]);
    for (const r of refs) {
      // the same backbone: experts and dims as the memory trials, no memory of either kind
      expect(r.config.model.engram).toBeUndefined();
      expect(r.config.model.overEncoding).toBeUndefined();
      expect(r.config.model.moe).toEqual(seed0[0].config.model.moe);
      expect(r.config.train.seed).toBe(r.meta.seed);
    }
    const oe = (v: string) =>
      plan.trials.find((t) => t.meta.variant === v && t.meta.slots === 1000 && t.meta.seed === 0)!;
    // the reference setting stays absent (its ids do not change); full is the only difference
    expect('tokenWeight' in oe('overencoding').config.model.overEncoding!).toBe(false);
    expect(oe('overencoding-full').config.model.overEncoding).toEqual({
      ...oe('overencoding').config.model.overEncoding,
      tokenWeight: 'full',
    });
    // exclude rules match the new variants
    const g = specFile(
      'ref-ex.yaml',
      base.replace(/budgets.*\n/, '') +
        `
axes: { slots: [100], variants: [overencoding-full, moe] }
exclude: [{ variant: moe }]
`,
    );
    expect(loadSweep(g).trials.map((t) => t.meta.variant)).toEqual(['overencoding-full']);
  });

  it('the meta variant names the OverEncoding setting trained; the backbone may set tokenWeight', () => {
    const full = base
      .replace(/budgets.*\n/, '')
      .replace('overEncoding: { maxNgram: 3,', 'overEncoding: { tokenWeight: full, maxNgram: 3,');
    const plan = loadSweep(
      specFile('full.yaml', full + 'axes: { slots: [100], variants: [overencoding, overencoding-full] }\n'),
    );
    expect(plan.trials.map((t) => [t.meta.variant, t.config.model.overEncoding!.tokenWeight])).toEqual([
      ['overencoding-full', 'full'],
    ]);
    expect(plan.warnings.join('\n')).toMatch(/trains the same model as/);
    expect(
      line(() =>
        loadSweep(
          specFile(
            'bad-tw.yaml',
            full.replace('tokenWeight: full', 'tokenWeight: half') +
              'axes: { slots: [100], variants: [overencoding] }\n',
          ),
        ),
      ),
    ).toMatch(/backbone\.overEncoding\.tokenWeight/);
  });

  it('committed OverEncoding trials keep their ids (tokenWeight absent is the mean, not written)', () => {
    const trials = join(root, 'results/examples/memory/trials');
    const oe = readdirSync(trials).filter((id) => {
      const c = JSON.parse(readFileSync(join(trials, id, 'config.json'), 'utf8'));
      return c.model.overEncoding !== undefined;
    });
    expect(oe.length).toBeGreaterThan(0);
    for (const id of oe) {
      const c = parseTrial(withoutRecorded(JSON.parse(readFileSync(join(trials, id, 'config.json'), 'utf8'))), id);
      expect(c.model.overEncoding!.tokenWeight).toBeUndefined();
      expect(trialId(c)).toBe(id);
      // an explicit mean is the same model, so the same id; full is another trial
      const withWeight = (w: string) => {
        const raw = withoutRecorded(JSON.parse(readFileSync(join(trials, id, 'config.json'), 'utf8'))) as {
          model: { overEncoding: object };
        };
        raw.model.overEncoding = { ...raw.model.overEncoding, tokenWeight: w };
        return trialId(parseTrial(raw, id));
      };
      expect(withWeight('mean')).toBe(id);
      expect(withWeight('full')).not.toBe(id);
    }
    // and the committed sweep spec expands to those same ids
    const plan = loadSweep(join(root, 'sweeps/memory.yaml'));
    const planned = new Set(plan.trials.filter((t) => t.meta.variant === 'overencoding').map((t) => t.id));
    expect([...oe].sort()).toEqual([...planned].sort());
  });

  it('--set overrides any field, validated like the file, and changes the ids', () => {
    const f = specFile('s.yaml', base + 'axes: { rho: [0, 1] }\n');
    const a = loadSweep(f);
    const b = loadSweep(f, ['train.steps=7', 'axes.seeds=[3]']);
    expect(b.trials[0].config.train.steps).toBe(7);
    expect(b.trials[0].meta.seed).toBe(3);
    expect(b.specHash).not.toBe(a.specHash);
    // a bad value that came from --set is named by that --set, not by the file (issue 15, item 11)
    expect(line(() => loadSweep(f, ['axes.rho=[1.5]']))).toMatch(
      /^--set axes\.rho=\[1\.5\]: axes\.rho\[0\]: 1\.5: Too big/,
    );
    expect(() => loadSweep(f, ['nonsense'])).toThrow(InputError);
  });

  it('bad input names file, field and value', () => {
    const cases: [string, RegExp][] = [
      ['axes: { rho: [] }\n', /axes\.rho: .*at least|Too small/],
      ['axes: { rho: [0.5] }\nbogus: 1\n', /unknown key\(s\) "bogus"/],
      ['axes: { rho: [0.5] }\nbudgets: [{ name: x }]\n', /exactly one of pTot or ratio/],
      [
        'budgets: [{ name: x, ratio: 2, backbone: { nHeads: 3 } }]\naxes: { rho: [0.5] }\n',
        /model\.nHeads: 3 does not divide dModel 32/,
      ],
      [
        'budgets: [{ name: x, ratio: 2, backbone: { nHeadz: 3 } }]\naxes: { rho: [0.5] }\n',
        /budgets\[0\]\.backbone: unknown key\(s\) "nHeadz"/,
      ],
    ];
    for (const [yaml, re] of cases) {
      const f = specFile('bad.yaml', base.replace(/budgets.*\n/, '') + yaml);
      expect(line(() => loadSweep(f))).toMatch(re);
    }
  });
});
