import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCS_FILE, SCHEMA_FILE, sweepDocsTable, sweepJsonSchema } from '../../src/sweep/gen-schema.js';

describe('generated sweep schema and docs', () => {
  it('are current (run `npm run gen:schema` after changing src/sweep/schema.ts)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(JSON.stringify(sweepJsonSchema(), null, 2) + '\n');
    expect(readFileSync(DOCS_FILE, 'utf8')).toBe(sweepDocsTable());
  });

  it('forbid unknown keys and document every axis', () => {
    const s = sweepJsonSchema() as { additionalProperties: boolean };
    expect(s.additionalProperties).toBe(false);
    const docs = sweepDocsTable();
    for (const f of ['axes.rho', 'axes.slots', 'axes.seeds', 'axes.variants', 'budgets[].ratio', 'rhoOne'])
      expect(docs).toContain(`\`${f}\``);
  });
});
