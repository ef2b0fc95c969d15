/**
 * `run --plan`: a resolved plan as JSON (for tests and tools that expand trials themselves). Each
 * trial's config is validated and its id must be the hash of that config.
 */
import { InputError, show } from '../contract/errors.js';
import { parseTrial } from '../train/config.js';
import { trialId } from '../train/trial-id.js';
import { readYamlOrJson } from '../util/load.js';
import type { SweepPlan } from './types.js';

export function readPlanFile(file: string): SweepPlan {
  const raw = readYamlOrJson(file) as Partial<SweepPlan> | null;
  if (!raw || typeof raw !== 'object')
    throw new InputError(file, 'a plan must be an object {name, specHash, spec, trials}');
  if (typeof raw.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(raw.name))
    throw new InputError(file, `${show(raw.name)} is not a name (letters, digits, _ . -)`, 'name');
  if (typeof raw.specHash !== 'string' || !raw.specHash)
    throw new InputError(file, 'needs a specHash string', 'specHash');
  if (!Array.isArray(raw.trials) || !raw.trials.length)
    throw new InputError(file, 'needs a non-empty trials list', 'trials');
  const trials = raw.trials.map((t, i) => {
    const config = parseTrial(t?.config, `${file}: trials[${i}].config`);
    if (t.id !== trialId(config))
      throw new InputError(file, `${show(t.id)} is not the id of its config (${trialId(config)})`, `trials[${i}].id`);
    if (!t.meta || typeof t.meta !== 'object')
      throw new InputError(file, 'needs meta {kind, variant, seed, ...}', `trials[${i}].meta`);
    return { id: t.id, config, meta: t.meta };
  });
  return { name: raw.name, specHash: raw.specHash, spec: raw.spec ?? null, trials, warnings: [] };
}
