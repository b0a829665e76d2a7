/**
 * A model from files already in memory (picked or dropped in a page): one .safetensors file with
 * its config in the metadata, or a Hugging Face model folder (config.json + model.safetensors
 * [+ preprocessor_config.json]). The platform-free twin of loadCheckpoint.
 */
import { UserError } from '../errors.js';
import { parseSafetensors } from '../io/safetensors-format.js';
import type { ViTConfig } from '../model/config.js';
import { type Layout, detectLayout, toCanonical } from './layouts.js';
import { type Preprocessor, configFromMetadata, interpretConfig, parseJsonObject, parsePreprocessor } from './model-config.js';

/** A file's name (a path inside a picked folder is fine) and its bytes. */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

export interface ModelInMemory {
  /** The weights file's name, as given. */
  name: string;
  config: ViTConfig;
  /** Canonical parameters, checked against the config. */
  params: Map<string, Float32Array>;
  /** The tensor names the file used. */
  layout: Layout;
  preprocessor?: Preprocessor;
}

const baseName = (name: string): string => name.slice(name.lastIndexOf('/') + 1);

/** The weights among `weights`: Hugging Face's model.safetensors, else the only one, else an experiment's final model. */
function pickWeights(weights: NamedBytes[], hf: boolean): NamedBytes {
  const named = (file: string): NamedBytes | undefined => weights.find((w) => baseName(w.name) === file);
  if (hf) {
    const model = named('model.safetensors');
    if (!model) throw new UserError(`${weights.map((w) => w.name).join(', ') || 'config.json'}: a Hugging Face model folder without model.safetensors`);
    return model;
  }
  if (weights.length === 1) return weights[0]!;
  const chosen = named('model_final.safetensors') ?? named('model.safetensors');
  if (chosen) return chosen;
  throw new UserError(`cannot tell which weights to open among ${weights.map((w) => w.name).join(', ')}; pick one .safetensors file`);
}

/** Reads the model in `files` (see the module comment); errors name the file at fault. */
export function modelFromFiles(files: readonly NamedBytes[]): ModelInMemory {
  const text = (file: NamedBytes): string => new TextDecoder().decode(file.bytes);
  const configFile = files.find((f) => baseName(f.name) === 'config.json');
  const preprocessorFile = files.find((f) => baseName(f.name) === 'preprocessor_config.json');
  const weights = files.filter((f) => f.name.toLowerCase().endsWith('.safetensors'));
  if (weights.length === 0) {
    const names = files.map((f) => f.name).join(', ') || 'nothing';
    throw new UserError(`${names}: no .safetensors file; expected a .safetensors model, or a Hugging Face folder (config.json + model.safetensors)`);
  }
  const fromJson = configFile ? interpretConfig(parseJsonObject(text(configFile), configFile.name), configFile.name) : undefined;
  const file = pickWeights(weights, fromJson?.hf ?? false);
  const { tensors, metadata } = parseSafetensors(file.bytes, file.name);
  const config = fromJson?.config ?? configFromMetadata(metadata, file.name);
  if (config === undefined) throw new UserError(`${file.name}: no config.json with it and no "config" in its metadata; the model's shape is unknown`);
  const layout = detectLayout(tensors.keys(), file.name);
  const model: ModelInMemory = { name: file.name, config, params: toCanonical(tensors, config, file.name), layout };
  if (preprocessorFile) model.preprocessor = parsePreprocessor(parseJsonObject(text(preprocessorFile), preprocessorFile.name), config, preprocessorFile.name);
  return model;
}
