// The training checkpoint (checkpoint.safetensors in an experiment folder): everything a run needs
// to continue exactly where it stopped. The parameters, AdamW's moments and (when the run keeps one)
// the weights' moving average are tensors; the epoch,
// the generators' states, the schedule's position, the metrics so far and the run's options are
// JSON in the metadata. Bytes in, bytes out: Node writes them into the experiment folder after every
// epoch, the page into its storage.
import { UserError } from '../errors.js';
import { CHECKPOINT_PARAM_PREFIX } from '../io/experiment-layout.js';
import { encodeSafetensors, parseSafetensors } from '../io/safetensors-format.js';
import { type ViTConfig, resolveConfig } from '../model/config.js';
import { nonFinite } from '../model/parameter-store.js';
import type { ViTForClassification } from '../model/vit.js';

import type { AdamW } from './adamw.js';
import { type Metrics, parseMetrics } from './metrics.js';
import type { WeightAverage } from './weight-average.js';

const FORMAT = 'vit-ts-training-checkpoint';
const VERSION = '1';

const MOMENT1 = 'adamw.m.';
const MOMENT2 = 'adamw.v.';
/** The moving average of the weights (weight-average.ts); checkpoints of runs without one lack these. */
const AVERAGE = 'ema.';
const AVERAGE_UPDATES = 'ema_updates';

/** What a checkpoint holds besides the tensors. `settings` is the run's options as JSON (see trainer.ts). */
export interface CheckpointState {
  /** Epochs finished. */
  epoch: number;
  /** Optimizer steps taken: AdamW's bias correction and the schedule's position. */
  step: number;
  /** The shuffle-and-augmentation generator. */
  dataRandom: number[];
  /** model.dropoutRandom. */
  dropoutRandom: number[];
  metrics: Metrics;
  config: ViTConfig;
  settings: Record<string, unknown>;
}

export interface TrainingCheckpoint extends CheckpointState {
  params: Map<string, Float32Array>;
  moment1: Map<string, Float32Array>;
  moment2: Map<string, Float32Array>;
  /** The weights' moving average, by parameter name, and its update count; absent in runs without one. */
  average?: { updates: number; params: Map<string, Float32Array> };
}

/** The model's parameters, the optimizer's state, the weights' average if the run keeps one, and `state`, as safetensors bytes. */
export async function encodeTrainingCheckpoint(
  model: ViTForClassification,
  optimizer: AdamW,
  state: CheckpointState,
  average?: WeightAverage,
): Promise<Uint8Array> {
  if (optimizer.step !== state.step) throw new Error(`checkpoint step ${state.step} differs from the optimizer's ${optimizer.step}`);
  const store = model.parameters;
  const [params, { m, v }, averaged] = await Promise.all([store.readAll(), optimizer.state(), average?.state()]);
  const tensors: [string, { shape: number[]; data: Float32Array }][] = [];
  // Per-parameter slices of the flat buffers; the alignment padding between them is always zero.
  for (const p of store.list) {
    tensors.push([CHECKPOINT_PARAM_PREFIX + p.name, { shape: [...p.shape], data: params.subarray(p.offset, p.offset + p.size) }]);
    tensors.push([MOMENT1 + p.name, { shape: [...p.shape], data: m.subarray(p.offset, p.offset + p.size) }]);
    tensors.push([MOMENT2 + p.name, { shape: [...p.shape], data: v.subarray(p.offset, p.offset + p.size) }]);
    if (averaged) tensors.push([AVERAGE + p.name, { shape: [...p.shape], data: averaged.values.subarray(p.offset, p.offset + p.size) }]);
  }
  return encodeSafetensors(tensors, {
    format: FORMAT,
    version: VERSION,
    epoch: String(state.epoch),
    step: String(state.step),
    random_states: JSON.stringify({ data: state.dataRandom, dropout: state.dropoutRandom }),
    metrics: JSON.stringify(state.metrics),
    config: JSON.stringify(state.config),
    training: JSON.stringify(state.settings),
    ...(averaged ? { [AVERAGE_UPDATES]: String(averaged.updates) } : {}),
  });
}

/** Parses and checks a checkpoint written by encodeTrainingCheckpoint; `path` names it in errors. */
export function decodeTrainingCheckpoint(bytes: Uint8Array, path: string): TrainingCheckpoint {
  const { tensors, metadata } = parseSafetensors(bytes, path);
  if (metadata['format'] !== FORMAT) {
    throw new UserError(
      `${path}: not a vit-ts training checkpoint (its metadata "format" is ${JSON.stringify(metadata['format'] ?? null)})`,
    );
  }
  if (metadata['version'] !== VERSION)
    throw new UserError(`${path}: checkpoint version ${metadata['version']} is not supported (expected ${VERSION})`);
  const json = (key: string): unknown => {
    const text = metadata[key];
    if (text === undefined) throw new UserError(`${path}: the checkpoint lacks metadata "${key}"`);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new UserError(`${path}: metadata "${key}" is not valid JSON (${(e as Error).message})`);
    }
  };
  const count = (key: string): number => {
    const n = json(key);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new UserError(`${path}: metadata "${key}" must be a whole number`);
    return n;
  };
  const randoms = json('random_states');
  const randomState = (key: 'data' | 'dropout'): number[] => {
    const s = typeof randoms === 'object' && randoms !== null ? (randoms as Record<string, unknown>)[key] : undefined;
    if (!Array.isArray(s) || s.length !== 4 || s.some((w) => typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new UserError(`${path}: metadata "random_states" needs "${key}" as 4 unsigned 32-bit words`);
    }
    return s as number[];
  };
  const settings = json('training');
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
    throw new UserError(`${path}: metadata "training" must be an object`);
  const configJson = json('config');
  if (typeof configJson !== 'object' || configJson === null || Array.isArray(configJson))
    throw new UserError(`${path}: metadata "config" must be an object`);

  const params = new Map<string, Float32Array>();
  const moment1 = new Map<string, Float32Array>();
  const moment2 = new Map<string, Float32Array>();
  const averaged = new Map<string, Float32Array>();
  for (const [name, tensor] of tensors) {
    if (!(tensor.data instanceof Float32Array)) throw new UserError(`${path}: tensor ${name} is ${tensor.dtype}, expected F32`);
    if (name.startsWith(CHECKPOINT_PARAM_PREFIX)) params.set(name.slice(CHECKPOINT_PARAM_PREFIX.length), tensor.data);
    else if (name.startsWith(MOMENT1)) moment1.set(name.slice(MOMENT1.length), tensor.data);
    else if (name.startsWith(MOMENT2)) moment2.set(name.slice(MOMENT2.length), tensor.data);
    else if (name.startsWith(AVERAGE)) averaged.set(name.slice(AVERAGE.length), tensor.data);
    else throw new UserError(`${path}: unexpected tensor ${name} in a training checkpoint`);
  }
  const hasAverage = metadata[AVERAGE_UPDATES] !== undefined;
  if (hasAverage !== averaged.size > 0) {
    throw new UserError(
      `${path}: the checkpoint has ${hasAverage ? `metadata "${AVERAGE_UPDATES}" but no ${AVERAGE}* tensors` : `${AVERAGE}* tensors but no metadata "${AVERAGE_UPDATES}"`}`,
    );
  }
  return {
    ...(hasAverage ? { average: { updates: count(AVERAGE_UPDATES), params: averaged } } : {}),
    epoch: count('epoch'),
    step: count('step'),
    dataRandom: randomState('data'),
    dropoutRandom: randomState('dropout'),
    metrics: parseMetrics(json('metrics'), `${path} (metadata "metrics")`),
    config: resolveConfig(configJson as Record<string, unknown>, `${path} (metadata "config")`),
    settings: settings as Record<string, unknown>,
    params,
    moment1,
    moment2,
  };
}

/**
 * Puts a checkpoint's parameters, moments and dropout generator into a freshly built model and optimizer,
 * and its weights' average into `average` when given; a checkpoint without one (an older run's, or
 * one that kept none) restarts the average from the restored weights.
 */
export function restoreTrainingCheckpoint(
  checkpoint: TrainingCheckpoint,
  model: ViTForClassification,
  optimizer: AdamW,
  source: string,
  average?: WeightAverage,
): void {
  const store = model.parameters;
  const m = new Float32Array(store.count);
  const v = new Float32Array(store.count);
  for (const p of store.list) {
    const a = checkpoint.moment1.get(p.name);
    const b = checkpoint.moment2.get(p.name);
    if (!a || !b) throw new UserError(`${source}: the checkpoint lacks AdamW's moments for ${p.name}`);
    if (a.length !== p.size || b.length !== p.size) throw new UserError(`${source}: AdamW's moments for ${p.name} have the wrong size`);
    m.set(a, p.offset);
    v.set(b, p.offset);
  }
  model.loadStateDict(checkpoint.params);
  optimizer.loadState({ step: checkpoint.step, m, v });
  model.dropoutRandom.setState(checkpoint.dropoutRandom);
  if (!average) return;
  if (!checkpoint.average) {
    average.reset();
    return;
  }
  const values = new Float32Array(store.count);
  for (const p of store.list) {
    const t = checkpoint.average.params.get(p.name);
    if (!t) throw new UserError(`${source}: the checkpoint lacks the weights' average for ${p.name}`);
    if (t.length !== p.size) throw new UserError(`${source}: the weights' average for ${p.name} has the wrong size`);
    const bad = nonFinite(t);
    if (bad !== undefined) throw new UserError(`${source}: the weights' average for ${p.name} ${bad}`);
    values.set(t, p.offset);
  }
  average.loadState({ updates: checkpoint.average.updates, values });
}
