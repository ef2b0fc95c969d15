/** Read a YAML or JSON file for a command, turning every failure into one InputError line. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { InputError } from '../contract/errors.js';

export function readText(file: string): string {
  if (!existsSync(file)) throw new InputError(file, 'file not found');
  if (!statSync(file).isFile()) throw new InputError(file, 'is not a file');
  return readFileSync(file, 'utf8');
}

/** YAML is a superset of JSON, so one parser reads both; errors carry line and column. */
export function readYamlOrJson(file: string): unknown {
  const text = readText(file);
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new InputError(file, `malformed JSON: ${(e as Error).message}`);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const at = e.linePos?.[0];
    const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new InputError(file, `malformed YAML${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${what}`);
  }
  return doc.toJS();
}
