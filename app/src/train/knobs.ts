// The training settings the page offers: each a row of the settings table (src/train/settings.ts),
// which gives its type, default, choices and checks; here only how the form labels it. Adding a
// knob to the page is one row here (and the setting's own row in the table).
import type { SettingKey, TrainSettings } from '../../../src/train/settings.js';

export interface Knob {
  label: string;
  /** The number field's step: 'any' for fractions; whole numbers without one. */
  step?: string;
  /** The field's unit in the setting's: 60 for a field in minutes of a setting in seconds. */
  scale?: number;
  /** What an empty field means where the setting's default is null. */
  none?: string;
}

export const KNOBS = {
  recipe: { label: 'Recipe' },
  seed: { label: 'Seed' },
  epochs: { label: 'Epochs' },
  timeBudget: { label: 'Time budget (minutes)', step: 'any', scale: 60, none: 'none' },
  batchSize: { label: 'Batch size' },
  lr: { label: 'Learning rate', step: 'any' },
  trainSamples: { label: 'Training images', none: 'all' },
  testSamples: { label: 'Test images', none: 'all' },
  threads: { label: 'Threads' },
  backend: { label: 'Backend' },
} satisfies Partial<Record<SettingKey, Knob>>;

export type KnobKey = keyof typeof KNOBS;
export const KNOB_KEYS = Object.keys(KNOBS) as KnobKey[];

/** The knobs' values as the settings take them; left out = the recipe's or the table's default. */
export type KnobValues = { [K in KnobKey]?: TrainSettings[K] };
