/**
 * Finding, loading and saving a model from the path a user passes to --model: a .safetensors
 * file, a training experiment's folder (also one still training, which has only its checkpoint),
 * or a Hugging Face model folder.
 */
import { type Stats, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { writeIntoFolder } from '../io/created-folders.js';
import { readSafetensors, readSafetensorsHeader } from '../io/safetensors.js';
import { readUserFile } from '../io/user-files.js';
import type { ViTConfig } from '../model/config.js';
import { CONFIG_FILE, PREPROCESSOR_FILE } from '../io/experiment-layout.js';
import { toHfConfig } from './hf-config.js';
import { type Layout, detectLayout, toCanonical } from './layouts.js';
import { encodeModelFile } from './model-file.js';
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

export type { Preprocessor } from './model-config.js';

export interface ModelFiles {
  weightsPath: string;
  config: ViTConfig;
  layout: Layout;
  preprocessor?: Preprocessor;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

function readJson(path: string): Record<string, unknown> {
  return parseJsonObject(readUserFile(path).toString('utf8'), path);
}

/** Locates the weights, config and preprocessing of the model at `path` (see the module comment). */
export function resolveModelPath(path: string): ModelFiles {
  const stat = statOrNull(path);
  if (stat === null) throw new UserError(`${path}: no such file or folder; ${EXPECTED}`);
  let dir: string;
  let weightsPath: string | undefined;
  if (stat.isDirectory()) {
    dir = path;
  } else if (basename(path) === CONFIG_FILE) {
    dir = dirname(path); // the user pointed at the model's config: load the model in its folder
  } else if (path.endsWith('.safetensors')) {
    dir = dirname(path);
    weightsPath = path;
  } else {
    throw new UserError(`${path}: not a .safetensors file; ${EXPECTED}`);
  }

  const configPath = join(dir, CONFIG_FILE);
  const fromJson = statOrNull(configPath)?.isFile() ? interpretConfig(readJson(configPath), configPath) : undefined;
  weightsPath ??= join(dir, chooseWeights(readdirSync(dir), fromJson?.hf ?? false, dir));
  const header = readSafetensorsHeader(weightsPath);
  const config = fromJson?.config ?? configFromMetadata(header.metadata, weightsPath);
  if (config === undefined) {
    throw new UserError(`${weightsPath}: no config.json beside it and no "config" in its metadata; the model's shape is unknown`);
  }
  const layout = detectLayout(modelEntries(header.entries, weightsPath).keys(), weightsPath);
  const files: ModelFiles = { weightsPath, config, layout };
  const preprocessorPath = join(dir, PREPROCESSOR_FILE);
  if (statOrNull(preprocessorPath)?.isFile()) files.preprocessor = parsePreprocessor(readJson(preprocessorPath), config, preprocessorPath);
  return files;
}

/** Resolves `path` and reads its weights into the canonical parameters, checked against the config. */
export function loadCheckpoint(path: string): { config: ViTConfig; params: Map<string, Float32Array>; files: ModelFiles } {
  const files = resolveModelPath(path);
  const { tensors } = readSafetensors(files.weightsPath);
  return { config: files.config, params: toCanonical(modelEntries(tensors, files.weightsPath), files.config, files.weightsPath), files };
}

export interface SaveOptions {
  /** 'seed' (the default) is the seed article's state_dict, readable by its PyTorch code. */
  layout?: Layout;
  metadata?: Record<string, string>;
  /** Written as Hugging Face's preprocessor_config.json when saving a folder in the 'hf' layout. */
  preprocessor?: Preprocessor;
}

/**
 * Writes the model. A path ending in .safetensors gets that one file, with the config in its
 * metadata; any other path is a folder that gets config.json (Hugging Face's for the 'hf' layout)
 * and model.safetensors (plus preprocessor_config.json for 'hf' when given), so that it loads in transformers.
 */
export function saveCheckpoint(path: string, config: ViTConfig, params: Map<string, Float32Array>, options: SaveOptions = {}): void {
  const layout = options.layout ?? 'seed';
  const bytes = encodeModelFile(config, params, { layout, metadata: options.metadata });
  if (path.endsWith('.safetensors')) {
    writeFileAtomic(path, bytes);
    return;
  }
  const stat = statOrNull(path);
  if (stat !== null && !stat.isDirectory())
    throw new UserError(`${path}: exists and is not a folder; give a folder or a .safetensors path`);
  const configJson = layout === 'hf' ? toHfConfig(config) : config;
  writeIntoFolder(path, () => {
    writeFileAtomic(join(path, 'model.safetensors'), bytes);
    writeFileAtomic(join(path, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
    if (layout === 'hf' && options.preprocessor) writePreprocessorConfig(path, options.preprocessor, config.image_size);
  });
}

/** Writes Hugging Face's preprocessor_config.json into `dir`: resize to `size` (default imageSize), rescale, normalize. */
export function writePreprocessorConfig(dir: string, preprocessor: Preprocessor, imageSize: number): void {
  const { mean, std, size = imageSize } = preprocessor;
  writeFileAtomic(
    join(dir, PREPROCESSOR_FILE),
    JSON.stringify(
      {
        do_normalize: true,
        do_rescale: true,
        do_resize: true,
        image_mean: mean,
        image_processor_type: 'ViTImageProcessor',
        image_std: std,
        resample: 2,
        rescale_factor: 1 / 255,
        size: { height: size, width: size },
      },
      null,
      2,
    ) + '\n',
  );
}
