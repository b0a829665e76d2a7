// A training run's settings, declared once. Everything else derives from this table: the
// TrainSettings type, `vit train`'s flags and help, the checks and their messages, the recipe
// defaults, config.json's "training" block (snake_case keys) and what a resumed run may change.
// Platform-free: the page and `vit train` resolve their settings here alike.
import { quoteValue } from '../arguments.js';
import { UserError } from '../errors.js';
import { parseDecimal } from '../decimal.js';
import { MAX_SEED } from '../random.js';
import { BACKENDS, type Backend } from '../runtime/engine.js';
import {
  AUGMENT_NAMES,
  type AugmentName,
  type Hyperparameters,
  RECIPES,
  RECIPE_NAMES,
  type RecipeName,
  SCHEDULE_NAMES,
  type ScheduleName,
} from './recipes.js';

export type TtaName = 'none' | 'flip';
export const TTA_NAMES: readonly TtaName[] = ['none', 'flip'];

/** One setting: its flag (which also names it in messages), its check, its default and its rules. */
export interface Setting<T> {
  /** The CLI flag, e.g. '--batch-size'; settings without one are named by `label`. */
  flag?: string;
  /** How messages name a setting without a flag. */
  label?: string;
  /** The value's placeholder in the help, e.g. '<n>'. */
  placeholder?: string;
  help: string;
  /** Parses the flag's text; throws a UserError naming the flag. */
  parse?: (text: string, name: string) => T;
  /** Choices, for the help and the check. */
  choices?: readonly string[];
  /** Why `value` is not acceptable, or null when it is. Says "must be …". */
  check(value: unknown): string | null;
  /** The value when not given: a constant, or the recipe's (hyper-parameters). */
  default: T | ((recipe: RecipeName) => T) | undefined;
  /** Whether a resumed run may change it: it does not change what is computed. */
  resumable?: boolean;
  /** The value runs saved before this setting existed had. */
  before?: T;
}

// --- the kinds of values -------------------------------------------------------------------------

const isWhole = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isNumberFrom = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min;

function parseNumber(text: string, name: string, why: string): number {
  const n = parseDecimal(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UserError(`${name} ${why} (got "${text}")`);
  return n;
}

/** More epochs than anyone trains (the seed's run is 100): beyond it a count is a typo that would train for years. */
const MAX_EPOCHS = 100_000;
/** A longer time budget than anyone trains for (a year): beyond it a number is a typo, as with MAX_EPOCHS. */
const MAX_BUDGET_HOURS = 365 * 24;

function whole(min: number, max = Infinity): Pick<Setting<number>, 'parse' | 'check' | 'placeholder'> {
  const why = max === Infinity ? `must be a whole number ≥ ${min}` : `must be a whole number from ${min} to ${max}`;
  const ok = (v: unknown): v is number => isWhole(v, min) && v <= max;
  return {
    placeholder: '<n>',
    parse: (text, name) => {
      const n = parseNumber(text, name, why);
      if (!ok(n)) throw new UserError(`${name} ${why} (got "${text}")`);
      return n;
    },
    check: (v) => (ok(v) ? null : why),
  };
}

function wholeOrAll(min: number): Pick<Setting<number | null>, 'parse' | 'check' | 'placeholder'> {
  const { parse, check } = whole(min);
  return { placeholder: '<n>', parse: parse!, check: (v) => (v === null ? null : check(v)) };
}

function number(
  min: number,
  max = Infinity,
  open: { minOpen?: boolean; maxOpen?: boolean } = {},
): Pick<Setting<number>, 'parse' | 'check' | 'placeholder'> {
  const { minOpen = false, maxOpen = false } = open;
  const why =
    max === Infinity
      ? `must be a number ${minOpen ? '>' : '≥'} ${min}`
      : `must be a number in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
  const ok = (v: unknown): boolean => isNumberFrom(v, min) && (!minOpen || v > min) && (maxOpen ? v < max : v <= max);
  return {
    placeholder: '<x>',
    parse: (text, name) => {
      const n = parseNumber(text, name, why);
      if (!ok(n)) throw new UserError(`${name} ${why} (got "${text}")`);
      return n;
    },
    check: (v) => (ok(v) ? null : why),
  };
}

function choice<T extends string>(choices: readonly T[]): Pick<Setting<T>, 'choices' | 'check' | 'placeholder'> {
  return {
    placeholder: '<name>',
    choices,
    check: (v) => ((choices as readonly unknown[]).includes(v) ? null : `must be ${choices.join(', ')}`),
  };
}

/** "90s", "30m", "1h", "1h30m": a wall time, in seconds. */
const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/;

function durationOrNone(): Pick<Setting<number | null>, 'parse' | 'check' | 'placeholder'> {
  const why = 'must be a duration such as 90s, 30m, 1h or 1h30m';
  return {
    placeholder: '<duration>',
    parse: (text, name) => {
      const parts = DURATION.exec(text.trim());
      const seconds = parts && text.trim() !== '' ? (Number(parts[1] ?? 0) * 60 + Number(parts[2] ?? 0)) * 60 + Number(parts[3] ?? 0) : NaN;
      if (!(seconds > 0)) throw new UserError(`${name} ${why} (got "${text}")`);
      if (seconds > MAX_BUDGET_HOURS * 3600) throw new UserError(`${name} must be at most ${MAX_BUDGET_HOURS}h, a year (got "${text}")`);
      return seconds;
    },
    check: (v) =>
      v === null || (isNumberFrom(v, 0) && v > 0 && v <= MAX_BUDGET_HOURS * 3600)
        ? null
        : `must be a number of seconds in (0, ${MAX_BUDGET_HOURS * 3600}] (a year), or null for none`,
  };
}

const text: Pick<Setting<string>, 'check' | 'placeholder'> = {
  placeholder: '<text>',
  check: (v) => (typeof v === 'string' && v !== '' ? null : 'must be a non-empty text'),
};

const numberList = (positive: boolean): Pick<Setting<number[]>, 'check'> => ({
  check: (v) =>
    Array.isArray(v) && v.length > 0 && v.every((x) => isNumberFrom(x, -Infinity) && (!positive || x > 0))
      ? null
      : `must be a list of ${positive ? 'positive ' : ''}numbers`,
});

/** A hyper-parameter: its default comes from the recipe. */
function hyper<K extends keyof Hyperparameters>(key: K): (recipe: RecipeName) => Hyperparameters[K] {
  return (recipe) => RECIPES[recipe][key];
}

/** "seed 256, fast 128": each recipe's value, for the help. */
function byRecipe(key: keyof Hyperparameters): string {
  return RECIPE_NAMES.map((r) => `${r} ${RECIPES[r][key]}`).join(', ');
}

// --- the table ------------------------------------------------------------------------------------

/** Declares one setting; the type argument is its value's type. */
const def = <T>(s: Setting<T>): Setting<T> => s;

export const SETTINGS = {
  expName: def<string>({
    flag: '--exp-name',
    placeholder: '<name>',
    help: "the experiment's name: its folder under --out (required but with --resume)",
    default: undefined,
    resumable: true,
    check: (v) =>
      typeof v === 'string' && /^[^/\\]+$/.test(v) && v !== '.' && v !== '..' ? null : 'must be a plain folder name without slashes',
  }),
  recipe: def<RecipeName>({
    flag: '--recipe',
    ...choice(RECIPE_NAMES),
    help: 'hyper-parameter defaults: "seed" (the seed article) or "fast" (default: seed)',
    default: 'seed',
  }),
  epochs: def<number>({
    flag: '--epochs',
    ...whole(1, MAX_EPOCHS),
    help: `epochs to train (${byRecipe('epochs')}); not with --time-budget`,
    default: hyper('epochs'),
    resumable: true,
  }),
  timeBudget: def<number | null>({
    flag: '--time-budget',
    ...durationOrNone(),
    default: null,
    before: null,
    resumable: true,
    help:
      'train for this wall time instead of a number of epochs (90s, 30m, 1h30m): the schedules run over it and ' +
      'the run, counted from reading the data, ends inside it with a final evaluation; a resumed run continues it ' +
      '(a budget it has already spent is refused)',
  }),
  evalEvery: def<number | null>({
    flag: '--eval-every',
    ...wholeOrAll(1),
    default: null,
    before: null,
    resumable: true,
    help: 'evaluate after every N epochs, and after the last (default: every epoch; under --time-budget, after each tenth of it)',
  }),
  batchSize: def<number>({
    flag: '--batch-size',
    ...whole(1),
    help: `images per step (${byRecipe('batchSize')})`,
    default: hyper('batchSize'),
  }),
  lr: def<number>({
    flag: '--lr',
    ...number(0),
    help: `(peak) learning rate (${byRecipe('lr')})`,
    default: hyper('lr'),
    check: (v) => (isNumberFrom(v, 0) && v > 0 ? null : 'must be a number > 0'),
  }),
  minLr: def<number>({
    flag: '--min-lr',
    ...number(0),
    help: `learning rate at the end of a cosine or linear decay (${byRecipe('minLr')})`,
    default: hyper('minLr'),
  }),
  schedule: def<ScheduleName>({
    flag: '--schedule',
    ...choice(SCHEDULE_NAMES),
    placeholder: '<kind>',
    help: `learning rate schedule after the warmup (${byRecipe('schedule')})`,
    default: hyper('schedule'),
  }),
  warmupEpochs: def<number>({
    flag: '--warmup-epochs',
    ...number(0),
    help: `epochs of linear learning rate warmup (${byRecipe('warmupEpochs')})`,
    default: hyper('warmupEpochs'),
  }),
  weightDecay: def<number>({
    flag: '--weight-decay',
    ...number(0),
    help: `AdamW's decoupled weight decay (${byRecipe('weightDecay')})`,
    default: hyper('weightDecay'),
  }),
  labelSmoothing: def<number>({
    flag: '--label-smoothing',
    ...number(0, 1, { maxOpen: true }),
    help: `label smoothing ε in [0, 1) (${byRecipe('labelSmoothing')})`,
    default: hyper('labelSmoothing'),
  }),
  clipGrad: def<number>({
    flag: '--clip-grad',
    ...number(0),
    help: `clip the gradients' global L2 norm to this; 0 = off (${byRecipe('clipGrad')})`,
    default: hyper('clipGrad'),
  }),
  augment: def<AugmentName>({
    flag: '--augment',
    ...choice(AUGMENT_NAMES),
    placeholder: '<kind>',
    default: hyper('augment'),
    help: `rrc: RandomResizedCrop(0.8-1) + flip; crop: pad 4, random crop + flip; none (${byRecipe('augment')})`,
  }),
  keepTokens: def<number>({
    flag: '--keep-tokens',
    ...number(0, 1, { minOpen: true }),
    default: hyper('keepTokens'),
    before: 1,
    help: `token dropping: the share of patch tokens a training image keeps at the start, at random; 1 = off (${byRecipe('keepTokens')})`,
  }),
  keepTokensUntil: def<number>({
    flag: '--keep-tokens-until',
    ...number(0, 1),
    default: hyper('keepTokensUntil'),
    before: 0,
    help: `the fraction of the run from which all tokens are kept; the share rises linearly until then (${byRecipe('keepTokensUntil')})`,
  }),
  emaDecay: def<number>({
    flag: '--ema',
    ...number(0, 1, { maxOpen: true }),
    default: hyper('emaDecay'),
    before: 0,
    help: `evaluate and save an exponential moving average of the weights with this decay; 0 = off (${byRecipe('emaDecay')})`,
  }),
  tta: def<TtaName>({
    flag: '--tta',
    ...choice(TTA_NAMES),
    default: 'none',
    before: 'none',
    resumable: true,
    help: 'also evaluate with test-time augmentation: flip averages each image with its mirror (reported beside the single view)',
  }),
  saveModelEvery: def<number>({
    flag: '--save-model-every',
    ...whole(0),
    default: 0,
    resumable: true,
    help: 'also save model_{epoch}.safetensors every N epochs; 0 = only model_final (default 0)',
  }),
  dataDir: def<string>({
    flag: '--data',
    ...text,
    placeholder: '<dir>',
    help: "the cifar-10-batches-bin folder (default: where 'vit data cifar10' puts it)",
    default: undefined,
    resumable: true,
  }),
  seed: def<number>({
    flag: '--seed',
    ...whole(0, MAX_SEED),
    help: 'seed of the weights, dropout, subsets, shuffling and augmentation (default 0)',
    default: 0,
  }),
  backend: def<Backend>({
    flag: '--backend',
    ...choice(BACKENDS),
    placeholder: '<name>',
    default: 'wasm',
    before: 'wasm',
    resumable: true,
    help:
      'where the kernels run: wasm (WebAssembly SIMD on the CPU), webgpu (the GPU), or auto (WebGPU on a hardware GPU ' +
      'that holds the model, else wasm); a run continues on either (default: wasm)',
  }),
  threads: def<number>({
    flag: '--threads',
    ...whole(1),
    help: 'threads running the kernels (default: $VIT_THREADS, else the number of cores)',
    default: undefined,
    resumable: true,
  }),
  outDir: def<string>({
    flag: '--out',
    ...text,
    placeholder: '<dir>',
    help: 'the folder of experiments (default: experiments)',
    default: 'experiments',
    resumable: true,
  }),
  trainSamples: def<number | null>({
    flag: '--train-samples',
    ...wholeOrAll(1),
    help: 'train on a random subset of this many images',
    default: null,
  }),
  testSamples: def<number | null>({
    flag: '--test-samples',
    ...wholeOrAll(1),
    help: 'evaluate on the first N test images (vit eval --test-samples N takes the same)',
    default: null,
  }),
  valSplit: def<number>({
    flag: '--val-split',
    ...whole(0),
    default: 0,
    help: 'hold out N training images and evaluate on them instead of the test set (for choosing hyper-parameters)',
  }),
  initFrom: def<string | null>({
    flag: '--init-from',
    placeholder: '<path>',
    default: null,
    before: null,
    help:
      'fine-tune a trained model (a Hugging Face ViT folder, an experiment, a .safetensors file) with its normalization; ' +
      '--config may change num_classes (a fresh classifier), image_size (position embeddings interpolated), the dropout and labels',
    check: (v) => (v === null || (typeof v === 'string' && v !== '') ? null : 'must be a path'),
  }),
  // Not flags: they come with the --init-from model (its preprocessor), else the seed's 0.5.
  mean: def<number[]>({
    label: "the image mean (the --init-from model's)",
    help: 'per channel, or one for all',
    ...numberList(false),
    default: [0.5],
    before: [0.5],
  }),
  std: def<number[]>({
    label: "the image std (the --init-from model's)",
    help: 'per channel, or one for all',
    ...numberList(true),
    default: [0.5],
    before: [0.5],
  }),
};

type Schema = typeof SETTINGS;
export type SettingKey = keyof Schema;
type ValueOf<S> = S extends Setting<infer T> ? T : never;

/** The options a run used, complete: saved in config.json's "training" and in the checkpoint. */
export type TrainSettings = { [K in SettingKey]: ValueOf<Schema[K]> };

// The recipe's hyper-parameters are settings of the same types.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const hyperparametersAreSettings: Same<Pick<TrainSettings, keyof Hyperparameters>, Hyperparameters> = true;
void hyperparametersAreSettings;

const KEYS = Object.keys(SETTINGS) as SettingKey[];
const setting = (key: SettingKey): Setting<unknown> => SETTINGS[key] as Setting<unknown>;

/** How messages name settings: by `vit train`'s flags (--batch-size), or by the library's option names (batchSize). */
export type Naming = 'flags' | 'options';

/** How messages name a setting: its flag (else its label), or its option name. */
export function settingName(key: SettingKey, naming: Naming = 'flags'): string {
  const s = setting(key);
  if (naming === 'options') return s.flag !== undefined ? key : (s.label ?? key);
  return s.flag ?? s.label ?? key;
}

/** A run's settings: `given` (undefined = not given) over the recipe's and the table's defaults, checked. */
export function resolveSettings(given: Partial<Record<SettingKey, unknown>>, naming: Naming = 'flags'): TrainSettings {
  const recipe = given.recipe ?? SETTINGS.recipe.default;
  checkOne('recipe', recipe, null, naming);
  checkEpochsOrBudget(given, naming);
  const values: Partial<Record<SettingKey, unknown>> = {};
  for (const key of KEYS) {
    const d = setting(key).default;
    values[key] =
      given[key] !== undefined ? given[key] : typeof d === 'function' ? (d as (r: RecipeName) => unknown)(recipe as RecipeName) : d;
    if (values[key] === undefined) throw new UserError(`${settingName(key, naming)} is required`);
  }
  return checkSettings(values, null, naming);
}

/** A time budget decides the epochs: asking for both is a mistake. */
function checkEpochsOrBudget(given: Partial<Record<SettingKey, unknown>>, naming: Naming): void {
  if (given.epochs === undefined || given.timeBudget === undefined || given.timeBudget === null) return;
  throw new UserError(
    `${settingName('epochs', naming)} and ${settingName('timeBudget', naming)}: give one of them (under a time budget the run trains as many epochs as fit)`,
  );
}

/** The recipe's hyper-parameters with `overrides` (the options a user set) on top, checked. */
export function resolveHyperparameters(recipe: RecipeName, overrides: Partial<Hyperparameters> = {}): Hyperparameters {
  checkOne('recipe', recipe);
  const h = { ...RECIPES[recipe], ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  for (const key of Object.keys(h) as (keyof Hyperparameters)[]) checkOne(key, h[key]);
  checkFloorBelowPeak(h, null, 'flags');
  return h;
}

function checkOne(key: SettingKey, value: unknown, source: string | null = null, naming: Naming = 'flags'): void {
  const why = setting(key).check(value);
  if (why === null) return;
  throw new UserError(`${source === null ? '' : `${source}: `}${settingName(key, naming)} ${why} (got ${quoteValue(value)})`);
}

/** Checks every setting of `values` (and that the decay's floor is below its peak); `source` names a file they came from. */
export function checkSettings(
  values: Partial<Record<SettingKey, unknown>>,
  source: string | null,
  naming: Naming = 'flags',
): TrainSettings {
  for (const key of KEYS) checkOne(key, values[key], source, naming);
  const s = values as TrainSettings;
  checkFloorBelowPeak(s, source, naming);
  return s;
}

/** The decay's floor may not exceed its peak: the one check that spans two settings. */
function checkFloorBelowPeak(h: Pick<Hyperparameters, 'lr' | 'minLr'>, source: string | null, naming: Naming): void {
  if (h.minLr <= h.lr) return;
  throw new UserError(
    `${source === null ? '' : `${source}: `}${settingName('minLr', naming)} must be a number from 0 to ` +
      `${settingName('lr', naming)} (${h.lr}) (got ${h.minLr})`,
  );
}

// --- saved form: config.json's "training" and the checkpoint ------------------------------------

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** config.json and the checkpoint keep the settings with snake_case keys, as the seed's config. */
export function settingsToJson(s: TrainSettings): Record<string, unknown> {
  return Object.fromEntries(KEYS.map((key) => [snake(key), s[key]]));
}

/** Reads settings saved by settingsToJson; settings added since take the values older runs had. */
export function settingsFromJson(json: Record<string, unknown>, source: string): TrainSettings {
  const values: Partial<Record<SettingKey, unknown>> = {};
  for (const [key, value] of Object.entries(json)) values[camel(key) as SettingKey] = value;
  for (const key of KEYS) {
    if (values[key] !== undefined) continue;
    const s = setting(key);
    if (!('before' in s)) throw new UserError(`${source}: lacks "${snake(key)}"`);
    values[key] = s.before;
  }
  return checkSettings(values, source);
}

// --- resuming ------------------------------------------------------------------------------------

/** The settings a resumed run may change (they do not change what is computed). */
const RESUMABLE: readonly SettingKey[] = KEYS.filter((k) => setting(k).resumable);

/**
 * The resumed run's settings: `saved` with the options `given` now on top. Only resumable settings
 * may differ; anything else would silently make a different run.
 */
export function resumedSettings(
  saved: TrainSettings,
  given: Partial<Record<SettingKey, unknown>>,
  naming: Naming = 'flags',
): TrainSettings {
  checkEpochsOrBudget({ ...given, timeBudget: given.timeBudget ?? saved.timeBudget }, naming);
  const merged: Record<string, unknown> = { ...saved };
  for (const key of KEYS) {
    const value = given[key];
    if (value === undefined) continue;
    if (!setting(key).resumable && JSON.stringify(value) !== JSON.stringify(saved[key])) {
      throw new UserError(
        `${settingName(key, naming)} ${quoteValue(value)} differs from the run being resumed ` +
          `(${quoteValue(saved[key])}); a resumed run keeps its options except ${RESUMABLE.map((k) => settingName(k, naming)).join(', ')}`,
      );
    }
    merged[key] = value;
  }
  return checkSettings(merged, null, naming);
}

/** The settings that have a flag, with their keys: what `vit train` offers. */
export function flaggedSettings(): { key: SettingKey; setting: Setting<unknown> & { flag: string } }[] {
  return KEYS.filter((key) => setting(key).flag !== undefined).map((key) => ({
    key,
    setting: setting(key) as Setting<unknown> & { flag: string },
  }));
}
