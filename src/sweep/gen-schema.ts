/**
 * Generate the sweep spec's JSON Schema and its docs table from the zod schema (the one source of
 * truth). `npm run gen:schema` writes them; test/sweep/schema.test.ts checks they are current.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SweepSchema } from './schema.js';

type Json = { [k: string]: unknown };

export function sweepJsonSchema(): Json {
  const s = z.toJSONSchema(SweepSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  return { ...s, $id: 'engram-sweep/sweep.schema.json', title: 'engram-sweep sweep spec' };
}

/** One row per field: dotted path, type, default, constraints, description. */
export function sweepDocsTable(): string {
  const rows: string[][] = [];
  walk(sweepJsonSchema(), '', rows);
  const lines = [
    '# Sweep spec fields',
    '',
    'Generated from the zod schema in src/sweep/schema.ts by `npm run gen:schema`; do not edit.',
    'JSON Schema: [sweep.schema.json](sweep.schema.json). Unknown keys are errors.',
    '',
    '| field | type | default | allowed | description |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
  ];
  return lines.join('\n') + '\n';
}

function walk(node: Json, path: string, rows: string[][]): void {
  const props = (node.properties ?? {}) as Record<string, Json>;
  for (const [key, child0] of Object.entries(props)) {
    const child = unwrap(child0);
    const p = path ? `${path}.${key}` : key;
    rows.push([
      `\`${p}\``,
      typeOf(child),
      child0.default === undefined ? '' : `\`${JSON.stringify(child0.default)}\``,
      allowed(child),
      String(child0.description ?? child.description ?? ''),
    ]);
    if (child.type === 'object' && child.properties) walk(child, p, rows);
    const items = child.items as Json | undefined;
    if (child.type === 'array' && items?.type === 'object') walk(items, `${p}[]`, rows);
  }
}

const unwrap = (n: Json): Json =>
  Array.isArray(n.anyOf) ? ((n.anyOf as Json[]).find((x) => x.type !== 'null') ?? n) : n;

function typeOf(n: Json): string {
  if (n.enum) return 'enum';
  if (n.type === 'array') return `${typeOf((n.items ?? {}) as Json)}[]`;
  return String(n.type ?? 'any');
}

function allowed(n: Json): string {
  const parts: string[] = [];
  if (n.enum) parts.push((n.enum as unknown[]).map((v) => JSON.stringify(v)).join(', '));
  const items = n.items as Json | undefined;
  const src = n.type === 'array' && items ? items : n;
  if (src.enum && src !== n) parts.push((src.enum as unknown[]).map((v) => JSON.stringify(v)).join(', '));
  if (src.minimum !== undefined) parts.push(`>= ${src.minimum}`);
  if (src.exclusiveMinimum !== undefined) parts.push(`> ${src.exclusiveMinimum}`);
  if (src.maximum !== undefined && src.maximum !== Number.MAX_SAFE_INTEGER) parts.push(`<= ${src.maximum}`);
  if (src.exclusiveMaximum !== undefined) parts.push(`< ${src.exclusiveMaximum}`);
  if (src.pattern) parts.push(`pattern \`${src.pattern}\``);
  if (n.minItems) parts.push(`at least ${n.minItems} item(s)`);
  return parts.join('; ');
}

export const SCHEMA_FILE = 'sweeps/sweep.schema.json';
export const DOCS_FILE = 'sweeps/README.md';

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  writeFileSync(join(root, SCHEMA_FILE), JSON.stringify(sweepJsonSchema(), null, 2) + '\n');
  writeFileSync(join(root, DOCS_FILE), sweepDocsTable());
  process.stderr.write(`wrote ${SCHEMA_FILE} and ${DOCS_FILE}\n`);
}
