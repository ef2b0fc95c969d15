import { createHash } from 'node:crypto';

/** Canonical JSON: keys sorted at every level, so equal configs hash equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** "t" + 16 hex digits of sha256 of the canonical resolved config (DESIGN: results contract). */
export function trialId(config: unknown): string {
  return 't' + createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}
