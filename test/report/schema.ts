/**
 * vega-lite's own JSON schema as a validator (FIELD-NOTES: ajv options; compiling takes ~1.3 s,
 * so each test file compiles it once). A spec that passes is one vega-lite documents, not merely
 * one its compiler tolerates.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Validate = ((v: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };

export function vegaLiteValidator(): (spec: unknown) => string[] {
  const Ajv = require('ajv') as new (o: object) => { compile(schema: object): Validate };
  const schema = require('vega-lite/vega-lite-schema.json') as object;
  const validate = new Ajv({ strict: false, allowUnionTypes: true, validateFormats: false }).compile(schema);
  return (spec) =>
    validate(spec) ? [] : (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath} ${e.message}`);
}

/**
 * SVG with every decimal inside attribute values (geometry, transforms, aria labels) rounded to
 * 1 place: stable across float noise, still a readable diff. Text content (axis labels) is kept.
 */
export function roundSvg(svg: string): string {
  const roundNumbers = (s: string) =>
    s.replace(/-?\d+\.\d+(e-?\d+)?/g, (m) => {
      const r = Number(m).toFixed(1);
      return r === '-0.0' ? '0.0' : r;
    });
  return svg.replace(/="[^"]*"/g, roundNumbers).replace(/></g, '>\n<');
}
