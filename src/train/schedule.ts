// The learning rate at each optimizer step: constant (the seed), or a linear warmup followed by a
// cosine decay to a floor. A pure function of the step, so a resumed run needs only the step count.

export interface Schedule {
  /** 'constant' keeps peakLr throughout (after any warmup); 'cosine' decays to minLr by the last step. */
  kind: 'constant' | 'cosine';
  peakLr: number;
  minLr: number;
  /** Steps of linear warmup from peakLr / warmupSteps up to peakLr. */
  warmupSteps: number;
  /** Steps in the whole run (epochs × batches per epoch). */
  totalSteps: number;
}

/**
 * The learning rate of update number `step` (0 for the first update). Warmup starts at
 * peak/warmup rather than 0 so that the first update is not wasted.
 */
export function learningRateAt(schedule: Schedule, step: number): number {
  const { kind, peakLr, minLr, warmupSteps, totalSteps } = schedule;
  if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
  if (kind === 'constant') return peakLr;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return minLr + (peakLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
