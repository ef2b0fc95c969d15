/** Linear warmup, then cosine decay to minLrRatio * lr at the last step. */
export function learningRate(
  step: number,
  o: { lr: number; warmup: number; steps: number; minLrRatio: number },
): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const span = Math.max(1, o.steps - o.warmup);
  const progress = Math.min(1, (step - o.warmup) / span);
  const min = o.lr * o.minLrRatio;
  return min + 0.5 * (o.lr - min) * (1 + Math.cos(Math.PI * progress));
}

/** How the cooldown of a warmup-stable-decay schedule takes the rate from lr to 0. */
export type CooldownShape = 'linear' | '1-sqrt';

/** One cooldown branch of a WSD trial: it leaves the stable trunk at `branch` and ends at `steps`. */
export interface HorizonStep {
  /** the horizon asked for, in tokens */
  asked: number;
  /** whole steps to the horizon: round(asked / tokensPerStep) */
  steps: number;
  /** steps x tokensPerStep: the tokens the branch actually trains */
  tokens: number;
  /** first step of the cooldown: steps - round(fraction x steps) */
  branch: number;
}

/**
 * Horizons (tokens) -> whole steps. Each horizon rounds to the nearest whole step (ties up) and
 * its cooldown to round(fraction x steps) >= 1 steps, so a horizon's tokens are a multiple of
 * batch x seqLen and the branch is the same step whether one horizon or many are trained.
 * Returns an error message instead when a horizon cannot be trained (the caller names the field).
 */
export function horizonPlan(
  horizons: number[],
  tokensPerStep: number,
  fraction: number,
  warmup: number,
): HorizonStep[] | string {
  const out: HorizonStep[] = [];
  for (const [i, asked] of horizons.entries()) {
    const steps = Math.round(asked / tokensPerStep);
    if (steps < 1) return `horizons[${i}] = ${asked} tokens is less than one step (${tokensPerStep} tokens)`;
    const cool = Math.max(1, Math.round(fraction * steps));
    const branch = steps - cool;
    if (branch < warmup) {
      return `horizons[${i}] = ${asked} tokens (${steps} steps) leaves ${branch} steps before its cooldown of ${cool}, fewer than warmup ${warmup}`;
    }
    const prev = out[out.length - 1];
    if (prev && steps <= prev.steps)
      return `horizons[${i}] = ${asked} is not above the previous horizon once rounded to whole steps (${steps} <= ${prev.steps})`;
    out.push({ asked, steps, tokens: steps * tokensPerStep, branch });
  }
  return out;
}

/**
 * Warmup-stable-decay (Hagele et al. 2024; MiniCPM 2024): linear warmup to lr, then lr until a
 * branch's cooldown starts, then down to 0 at its horizon (reached one step after the last):
 * linear lr (1 - p) or 1-sqrt lr (1 - sqrt(p)), p = (step - branch) / cooldown steps. 1-sqrt is the
 * default: Hagele et al. found it beats linear and matches cosine at the same horizon.
 * `h` is the branch the step belongs to, or null on the stable trunk.
 */
export function wsdLearningRate(
  step: number,
  o: { lr: number; warmup: number },
  h: HorizonStep | null,
  shape: CooldownShape,
): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  if (!h || step < h.branch) return o.lr;
  const p = (step - h.branch) / (h.steps - h.branch);
  return o.lr * (shape === 'linear' ? 1 - p : 1 - Math.sqrt(p));
}

/**
 * Steps a trial trains in all: train.steps with the cosine schedule; with horizons, the trunk to
 * the last horizon plus every earlier branch's cooldown (what progress counts against).
 */
export function trialSteps(
  t: { steps: number; batchSize: number; warmup: number; horizons?: number[]; cooldown?: number },
  seqLen: number,
): number {
  if (!t.horizons) return t.steps;
  const plan = horizonPlan(t.horizons, t.batchSize * seqLen, t.cooldown ?? 0.2, t.warmup);
  if (typeof plan === 'string') return t.steps;
  return plan[plan.length - 1].steps + plan.slice(0, -1).reduce((s, p) => s + p.steps - p.branch, 0);
}
