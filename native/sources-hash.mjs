#!/usr/bin/env node
/**
 * The hash of the addon's C sources (native/src/*), compiled into the addon as NG_SOURCES_HASH
 * (binding.gyp runs this file) and compared at load by src/backend/native/addon.ts, which computes it
 * the same way (a copy, not an import: an install without this file must still load the
 * backend; test/native/guards.test.ts checks that both agree): a build older than its sources is
 * refused instead of silently used.
 *
 * sha256 over the files of native/src sorted by name, each as `${name}\n${byteLength}\n` + bytes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function sourcesHash(dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'src')) {
  const h = createHash('sha256');
  for (const name of readdirSync(dir)
    .filter((n) => /\.[ch]$/.test(n))
    .sort()) {
    const bytes = readFileSync(path.join(dir, name));
    h.update(`${name}\n${bytes.length}\n`);
    h.update(bytes);
  }
  return h.digest('hex');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) console.log(sourcesHash());
