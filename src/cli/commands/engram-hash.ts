/**
 * `engram-sweep engram-hash --input REQ.json`: the parity interface of docs/SPEC.md section 6 for the
 * integer side of Engram (compression, multipliers, prime table sizes, hash indices). Keys are
 * snake_case to mirror the reference; the output is one JSON line on stdout.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { hashRequestLayer, resolveHashRequest, type HashRequest } from '../../hash/request.js';
import { readText, readYamlOrJson } from '../../util/load.js';
import { InputError } from '../errors.js';

/** `-` reads stdin; .yaml/.yml go through the YAML reader; everything else is JSON. */
export function readRequest(file: string): { where: string; json: unknown } {
  if (/\.ya?ml$/i.test(file)) return { where: file, json: readYamlOrJson(file) };
  const where = file === '-' ? 'stdin' : file;
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readText(file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(where, `cannot read the request (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return { where, json: JSON.parse(text) };
  } catch (e) {
    throw new InputError(where, `malformed JSON: ${(e as Error).message}`);
  }
}

/** [n * width] row-major -> n rows of width. */
function rows(flat: ArrayLike<number>, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width) out.push(Array.from({ length: width }, (_, j) => flat[i + j]));
  return out;
}

/** The output object of spec 6: compressed_ids [B][T], vocab_size_compressed, layers {...}. */
export function hashResponse(r: HashRequest): Record<string, unknown> {
  const width = (r.maxNgram - 1) * r.headsPerNgram;
  const layers: Record<string, unknown> = {};
  for (const [id, layer] of r.layers) {
    const perPosition = rows(hashRequestLayer(r, id), width); // [B*T][(N-1)K]
    layers[String(id)] = {
      multipliers: layer.multipliers.map(String),
      table_sizes: layer.tableSizes,
      hash_ids: Array.from({ length: r.B }, (_, b) => perPosition.slice(b * r.T, (b + 1) * r.T)), // [B][T][(N-1)K]
    };
  }
  return {
    compressed_ids: r.T === 0 ? Array.from({ length: r.B }, () => []) : rows(r.compressedIds, r.T),
    vocab_size_compressed: r.vocabSizeCompressed,
    layers,
  };
}

export function register(program: Command): void {
  program
    .command('engram-hash')
    .description(
      'compressed ids, multipliers, prime table sizes and n-gram hash ids of a request, as the Engram reference computes them (docs/SPEC.md section 6)',
    )
    .requiredOption('--input <file>', 'request JSON (docs/SPEC.md section 6); "-" reads stdin')
    .addHelpText(
      'after',
      "\nRequest keys: vocab? [{text, raw}] (then ids are raw), vocab_size? (|V'|; ids compressed), pad_id,\n" +
        'max_ngram_size, n_head_per_ngram, engram_vocab_size, layer_ids, seed, multipliers? {layer: [strings]},\n' +
        'input_ids [B][T]. With only multipliers, vocab_size_compressed prints as null.\n' +
        '\nExample:\n' +
        '  echo \'{"vocab_size": 50000, "pad_id": 2, "max_ngram_size": 3, "n_head_per_ngram": 2,\n' +
        '        "engram_vocab_size": [1000, 1000], "layer_ids": [1], "seed": 0, "input_ids": [[5, 7, 9]]}\' \\\n' +
        '    | engram-sweep engram-hash --input -\n',
    )
    .action((opts: { input: string }) => {
      const { where, json } = readRequest(opts.input);
      const response = hashResponse(resolveHashRequest(json, where));
      process.stdout.write(JSON.stringify(response) + '\n');
    });
}
