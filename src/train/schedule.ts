// The schedules over a run: the learning rate (constant as the seed, or a linear warmup followed by
// a cosine or linear decay to a floor) and the share of patch tokens kept (token dropping).
// A run's length is a number of steps, or wall seconds under a time budget; either way these are
// pure functions of where the run is, so a resumed run needs only its step count and elapsed time.

export interface Schedule {
  /** 'constant' keeps peakLr throughout (after any warmup); 'cosine' and 'linear' decay to minLr by the run's end. */
  kind: 'constant' | 'cosine' | 'linear';
  peakLr: number;
  minLr: number;
  /** Steps of linear warmup from peakLr / warmupSteps up to peakLr (steps in both kinds of run: Adam's statistics count steps). */
  warmupSteps: number;
  length: RunLength;
}

/** How long a run is: `steps` updates (epochs × batches per epoch), or `seconds` of wall time (a time budget). */
export type RunLength = { steps: number } | { seconds: number };

/** Where the run is: updates done and wall seconds spent so far. */
export interface RunPosition {
  step: number;
  seconds: number;
}

/** The fraction of the run done, from 0 to 1. */
export function runFraction(length: RunLength, at: RunPosition): number {
  const fraction = 'steps' in length ? at.step / Math.max(1, length.steps) : at.seconds / length.seconds;
  return Math.min(1, Math.max(0, fraction));
}

/**
 * The learning rate of update number `at.step` (0 for the first update). Warmup starts at
 * peak/warmup rather than 0 so that the first update is not wasted. Over steps the decay spans the
 * steps after the warmup; under a time budget it spans the budget (the warmup is a few percent of it).
 */
export function learningRateAt(schedule: Schedule, at: RunPosition): number {
  const { kind, peakLr, minLr, warmupSteps, length } = schedule;
  if (at.step < warmupSteps) return (peakLr * (at.step + 1)) / warmupSteps;
  if (kind === 'constant') return peakLr;
  const progress =
    'steps' in length ? Math.min(1, (at.step - warmupSteps) / Math.max(1, length.steps - warmupSteps)) : runFraction(length, at);
  const remaining = kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return minLr + (peakLr - minLr) * remaining;
}

/** Token dropping: the share of patches kept at `start`, rising linearly to all of them at `allFrom` of the run. */
export interface KeepSchedule {
  start: number;
  allFrom: number;
}

/** How many of `patches` patch tokens each training image keeps at this point of the run (all of them at the end). */
export function patchesKeptAt(keep: KeepSchedule, patches: number, fraction: number): number {
  if (keep.start >= 1 || fraction >= keep.allFrom) return patches;
  const share = keep.start + (1 - keep.start) * (fraction / keep.allFrom);
  return Math.min(patches, Math.max(1, Math.round(share * patches)));
}
