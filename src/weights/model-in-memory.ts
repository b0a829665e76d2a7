/**
 * A model from files already in memory (picked or dropped in a page): a .safetensors file with
 * its config in the metadata, an experiment folder of `vit train`, or a Hugging Face model folder
 * (config.json + model.safetensors [+ preprocessor_config.json]). The platform-free twin of loadCheckpoint.
 */
import { UserError } from '../errors.js';
import { CONFIG_FILE, PREPROCESSOR_FILE } from '../io/experiment-layout.js';
import { parseSafetensors } from '../io/safetensors-format.js';
import type { ViTConfig } from '../model/config.js';
import { type Layout, detectLayout, toCanonical } from './layouts.js';
import {
  EXPECTED,
  type Preprocessor,
  chooseWeights,
  configFromMetadata,
  interpretConfig,
  modelEntries,
  parseJsonObject,
  parsePreprocessor,
} from './model-config.js';

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

/** Reads the model in `files` (see the module comment); errors name the file at fault. */
export function modelFromFiles(files: readonly NamedBytes[]): ModelInMemory {
  const text = (file: NamedBytes): string => new TextDecoder().decode(file.bytes);
  const named = (base: string): NamedBytes | undefined => files.find((f) => baseName(f.name) === base);
  const configFile = named(CONFIG_FILE);
  const preprocessorFile = named(PREPROCESSOR_FILE);
  if (!files.some((f) => f.name.toLowerCase().endsWith('.safetensors'))) {
    throw new UserError(`${files.map((f) => f.name).join(', ') || 'nothing'}: no .safetensors file; ${EXPECTED}`);
  }
  const fromJson = configFile ? interpretConfig(parseJsonObject(text(configFile), configFile.name), configFile.name) : undefined;
  // The same choice as `--model FOLDER`, among the base names (a picked folder's files carry its name).
  const folder = files[0]!.name.includes('/') ? files[0]!.name.slice(0, files[0]!.name.lastIndexOf('/')) : 'the files given';
  const file = named(
    chooseWeights(
      files.map((f) => baseName(f.name)),
      fromJson?.hf ?? false,
      folder,
    ),
  )!;
  const { tensors, metadata } = parseSafetensors(file.bytes, file.name);
  const config = fromJson?.config ?? configFromMetadata(metadata, file.name);
  if (config === undefined)
    throw new UserError(`${file.name}: no config.json with it and no "config" in its metadata; the model's shape is unknown`);
  const own = modelEntries(tensors, file.name);
  const model: ModelInMemory = {
    name: file.name,
    config,
    params: toCanonical(own, config, file.name),
    layout: detectLayout(own.keys(), file.name),
  };
  if (preprocessorFile)
    model.preprocessor = parsePreprocessor(parseJsonObject(text(preprocessorFile), preprocessorFile.name), config, preprocessorFile.name);
  return model;
}
