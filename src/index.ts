/**
 * vit-ts as a library: a Vision Transformer on WebAssembly SIMD kernels.
 *
 * ```ts
 * import { loadModel, classify } from 'vit-ts';
 * const model = await loadModel('experiments/seed');
 * console.log(await classify(model, 'cat.png', { topK: 3 })); // [{ label: 'cat', score: 0.83 }, …]
 * ```
 */
export {
  loadModel,
  classify,
  classifyAll,
  classLabels,
  modelLabels,
  modelNormalization,
  DEFAULT_TOP_K,
  type ModelSource,
  type LoadModelOptions,
  type Classification,
  type ClassifyOptions,
} from './api.js';
export { type ImageSource, type RawImage, type RgbImage, type Normalization, decodeImage, resizeRgb } from './images.js';
export { ViTForClassification, type CreateOptions } from './model/vit.js';
export { type TokenSelection, drawKeptPatches } from './model/patch-dropout.js';
export { Random } from './random.js';
export { type ViTConfig, SEED_CONFIG, resolveConfig } from './model/config.js';
export { type Engine, type EngineOptions, type EngineSizes, type Backend, createEngine, getEngine } from './runtime/engine.js';
export { WasmEngine, type WasmEngineOptions } from './runtime/wasm-engine.js';
export { exportOnnx } from './export/onnx.js';
export { type Tensor, readSafetensors, writeSafetensors } from './io/safetensors.js';
export { UserError } from './errors.js';

// Training: the whole job with progress callbacks, its pieces, and the data it reads.
export { train, type TrainOptions, type TrainCallbacks, type TrainResult } from './train/experiment-folder.js';
export { Trainer, type RunStore, type RunSpec, type TrainStart, type BatchProgress } from './train/trainer.js';
export { type TrainSettings, resolveSettings } from './train/settings.js';
export { progressReporter } from './train/progress.js';
export { evaluate, type Evaluation, type EvaluateOptions, type FlipEvaluation } from './train/evaluate.js';
export { WeightAverage, type WeightAverageState } from './train/weight-average.js';
export { AdamW, type AdamWOptions } from './train/adamw.js';
export { GradientClipper } from './train/gradient-clipper.js';
export { trainStep, type TrainingParts, type StepOptions } from './train/step.js';
export { RECIPES, type Hyperparameters, type RecipeName } from './train/recipes.js';
export { type ImageSet, parseCifar10 } from './data/cifar10.js';
export { readCifar10 } from './data/cifar10-files.js';
/** The CIFAR-10 sample inside the package (2,000 train and 500 test images): `train({ dataDir: sampleDataDir() })`. */
export { sampleDataDir } from './data/location.js';
export { BatchMaker, type AugmentOptions } from './data/augment.js';
