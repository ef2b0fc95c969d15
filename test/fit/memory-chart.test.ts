import { describe, expect, it } from 'vitest';
import { compile } from 'vega-lite';
import { powerlawChart } from '../../src/report/charts/powerlaw.js';
import type { ReportData } from '../../src/report/data.js';

const row = (variant: string, slots: number | null, seed: number, valLoss: number) => ({
  id: `${variant}-${slots}-${seed}`,
  kind: 'memory',
  variant,
  seed,
  slots,
  status: 'ok',
  valLoss,
});

describe('memory chart', () => {
  it('draws both OverEncoding settings, a labelled no-memory rule, earlier horizons and slots per n-gram, as valid vega-lite', () => {
    const rows = [100, 1000, 10000].flatMap((m, i) =>
      [0, 1].flatMap((s) => [
        row('engram', m, s, 5 - 0.1 * i + 0.01 * s),
        row('overencoding', m, s, 5.3),
        row('overencoding-full', m, s, 5.02),
      ]),
    );
    rows.push(row('moe', null, 0, 5.05), row('moe', null, 1, 5.07));
    const memory = {
      horizons: [
        {
          horizon: 1000,
          points: [100, 1000, 10000].map((m) => ({ slots: m, loss: 5.2 })),
          reference: null,
          coverage: null,
        },
        {
          horizon: 4000,
          points: [100, 1000, 10000].map((m) => ({ slots: m, loss: 5 })),
          reference: null,
          coverage: { bigrams: 500, trigrams: 2000 },
        },
      ],
    };
    const d = { rows, fits: { powerlaw: { kind: 'powerlaw', groups: [], memory } } } as unknown as ReportData;
    const spec = powerlawChart(d)!;
    const warnings: string[] = [];
    compile(spec as never, {
      logger: {
        warn: (...a: unknown[]) => warnings.push(a.join(' ')),
        info: () => {},
        debug: () => {},
        error: (...a: unknown[]) => warnings.push(a.join(' ')),
        level: () => 0,
      } as never,
    });
    expect(warnings).toEqual([]);
    const text = JSON.stringify(spec);
    expect(text).toContain('overencoding-full');
    expect(text).toContain('no memory (same backbone), mean of 2');
    expect(text).toContain('engram @ 1K tokens');
    // diamonds carry slots / distinct 2-grams: 100 / 500 = 0.2
    expect(text).toContain('"perBigram":0.2');
    expect(text).not.toMatch(/U-shape|\bU\b/);
  });
});
