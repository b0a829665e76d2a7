/**
 * The library's two verbs: load a model, classify images with it. The output has the shape of
 * transformers.js' image-classification pipeline: [{ label, score }], best first.
 */
import { UserError } from './errors.js';
import { CIFAR10_CLASSES } from './data/cifar10.js';
import { type ImageSource, type Normalization, SEED_NORMALIZATION, checkImageSource, loadImageForModel } from './images.js';
import { checkOptionalObject, kindOf } from './arguments.js';
import type { ViTConfig } from './model/config.js';
import { ViTForClassification } from './model/vit.js';
import { type Backend, type Engine, getEngine } from './runtime/engine.js';
import type { Preprocessor } from './weights/files.js';
import { type Classification, DEFAULT_TOP_K, namedClasses, runModel, topClasses } from './predictions.js';

export { type Classification, DEFAULT_TOP_K, runModel, topClasses } from './predictions.js';

/** A model given as values rather than a path: a (partial) config over the seed's, and canonical parameters. */
export interface ModelSource {
  config: Partial<ViTConfig>;
  params: Map<string, Float32Array>;
  /** The image normalization the model was trained with (default: the seed's 0.5 / 0.5). */
  preprocessor?: Preprocessor;
}

export interface LoadModelOptions {
  /** The engine to run on (default: the program's shared engine for `backend`, see getEngine). */
  engine?: Engine;
  /** Where the program's engine runs when no `engine` is given: wasm (default), webgpu or auto. */
  backend?: Backend;
}

export interface ClassifyOptions {
  /** How many of the most likely classes to return (default 5, at most the number of classes). */
  topK?: number;
}

/** What loadModel learned beside the weights, kept beside the model for classify. */
interface ModelExtras {
  labels: string[];
  normalization: Normalization;
}

const extras = new WeakMap<ViTForClassification, ModelExtras>();

/** Images per forward pass when classifying many: bounds the activations' memory. */
const CLASSIFY_BATCH = 32;

/** `model` must be a model that is not released; `caller` names the function in the error. */
function checkModel(model: unknown, caller: string): asserts model is ViTForClassification {
  if (!(model instanceof ViTForClassification)) {
    throw new UserError(
      `${caller}: "model" must be a ViTForClassification (from loadModel or ViTForClassification.create), got ${kindOf(model)}`,
    );
  }
  model.checkUsable(caller);
}

/**
 * Loads a model from what `--model` accepts (a .safetensors file, an experiment folder, a
 * Hugging Face model folder; Node only) or from a config and canonical parameters. The model
 * keeps its class names and image normalization for {@link classify}.
 */
export async function loadModel(source: string | ModelSource, options: LoadModelOptions = {}): Promise<ViTForClassification> {
  let config: Partial<ViTConfig>;
  let params: Map<string, Float32Array>;
  let preprocessor: Preprocessor | undefined;
  checkOptionalObject(options, 'loadModel: "options"');
  if (typeof source === 'string') {
    if (source === '') throw new UserError('loadModel: "source" is an empty path');
    // Loaded on demand: reading files needs Node, and the rest of this module does not.
    const { loadCheckpoint } = await import('./weights/files.js');
    const loaded = loadCheckpoint(source);
    config = loaded.config;
    params = loaded.params;
    preprocessor = loaded.files.preprocessor;
  } else {
    if (typeof source !== 'object' || source === null || !(source.params instanceof Map)) {
      throw new UserError(
        `loadModel: "source" must be a path, or { config, params } with params a Map of name → Float32Array (got ${kindOf(source)})`,
      );
    }
    ({ config, params, preprocessor } = source);
    checkOptionalObject(config, 'loadModel: "source.config"');
    for (const [name, values] of params) {
      if (!(values instanceof Float32Array))
        throw new UserError(`loadModel: "source.params" "${name}" must be a Float32Array (got ${kindOf(values)})`);
    }
  }
  const engine = options.engine ?? (await getEngine(options.backend === undefined ? {} : { backend: options.backend }));
  const model = await ViTForClassification.create(config, { engine });
  model.loadStateDict(params);
  extras.set(model, {
    labels: await classLabels(model.config),
    normalization: preprocessor ? { mean: preprocessor.mean, std: preprocessor.std } : SEED_NORMALIZATION,
  });
  return model;
}

/**
 * The class names: the config's `labels`; else, for 10 classes, CIFAR-10's (from the bundled
 * sample's batches.meta.txt); else LABEL_0, LABEL_1, … as transformers names unnamed classes.
 */
export async function classLabels(config: ViTConfig): Promise<string[]> {
  if (typeof config !== 'object' || config === null)
    throw new UserError(`classLabels: "config" must be a ViTConfig (got ${kindOf(config)})`);
  return namedClasses(config, config.labels === undefined && config.num_classes === 10 ? await cifar10Names() : undefined);
}

async function cifar10Names(): Promise<string[]> {
  try {
    const [{ readFile }, { sampleDataDir }] = await Promise.all([import('node:fs/promises'), import('./data/location.js')]);
    const names = (await readFile(`${sampleDataDir()}/batches.meta.txt`, 'utf8'))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l);
    if (names.length === 10) return names;
  } catch {
    // no file system (a browser) or no bundled sample: the standard names below are the same
  }
  return [...CIFAR10_CLASSES];
}

/** The model's class names and normalization: as loadModel found them, else the defaults. */
async function extrasOf(model: ViTForClassification): Promise<ModelExtras> {
  let found = extras.get(model);
  if (!found) {
    found = { labels: await classLabels(model.config), normalization: SEED_NORMALIZATION };
    extras.set(model, found);
  }
  return found;
}

/** The normalization classify applies for `model` (its preprocessor's, else 0.5 / 0.5). */
export async function modelNormalization(model: ViTForClassification): Promise<Normalization> {
  checkModel(model, 'modelNormalization');
  return (await extrasOf(model)).normalization;
}

/** The class names classify reports for `model`. */
export async function modelLabels(model: ViTForClassification): Promise<string[]> {
  checkModel(model, 'modelLabels');
  return [...(await extrasOf(model)).labels];
}

/**
 * Classifies one image: a file path (Node), encoded PNG/JPEG bytes, or raw pixels
 * `{ data, width, height }`. Any size: it is resized to the model's. Returns the `topK` most
 * likely classes, best first, with their softmax probabilities.
 */
export async function classify(model: ViTForClassification, image: ImageSource, options: ClassifyOptions = {}): Promise<Classification[]> {
  checkModel(model, 'classify');
  checkImageSource(image, 'classify: "image"');
  return (await classifyAll(model, [image], options))[0]!;
}

/** {@link classify} for many images at once (batched through the model); results in input order. */
export async function classifyAll(
  model: ViTForClassification,
  images: readonly ImageSource[],
  options: ClassifyOptions = {},
): Promise<Classification[][]> {
  checkModel(model, 'classifyAll');
  if (!Array.isArray(images)) throw new UserError(`classifyAll: "images" must be an Array of images (got ${kindOf(images)})`);
  images.forEach((image, i) => checkImageSource(image, `classifyAll: "images"[${i}]`));
  checkOptionalObject(options, 'classify: "options"');
  const topK = options.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(topK) || topK < 1) throw new UserError(`topK must be a positive whole number (got ${topK})`);
  const { labels, normalization } = await extrasOf(model);
  const size = model.config.image_size;
  const results: Classification[][] = [];
  for (let start = 0; start < images.length; start += CLASSIFY_BATCH) {
    const chunk = images.slice(start, start + CLASSIFY_BATCH);
    // One at a time: a full-size decoded photo is large, and only its resized copy is kept.
    const pictures = [];
    for (const image of chunk) pictures.push(await loadImageForModel(image, size));
    const logits = await runModel(model, pictures, normalization);
    for (let i = 0; i < chunk.length; i++) {
      results.push(topClasses(logits.subarray(i * labels.length, (i + 1) * labels.length), labels, topK));
    }
  }
  return results;
}
