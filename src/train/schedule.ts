/** Linear warmup, then cosine decay to minLrRatio * lr at the last step. */
export function learningRate(step: number, o: { lr: number; warmup: number; steps: number; minLrRatio: number }): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const span = Math.max(1, o.steps - o.warmup);
  const progress = Math.min(1, (step - o.warmup) / span);
  const min = o.lr * o.minLrRatio;
  return min + 0.5 * (o.lr - min) * (1 + Math.cos(Math.PI * progress));
}
