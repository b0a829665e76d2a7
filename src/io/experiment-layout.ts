// The experiment folder's layout: the one place its file names are written. `vit train` writes
// these files (train/experiment-folder.ts), `--model` finds a model among them (weights/files.ts),
// `vit plot` reads the metrics, and the page names its downloads after them.

/** The model config with the run's settings under "training". */
export const CONFIG_FILE = 'config.json';
/** The seed's metrics: one entry per finished epoch. */
export const METRICS_FILE = 'metrics.json';
/** Everything a run needs to continue exactly: written after every epoch. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** The trained model, in the seed's parameter names. */
export const FINAL_MODEL_FILE = 'model_final.safetensors';
/** Hugging Face's preprocessing file: the image normalization when it is not the seed's 0.5. */
export const PREPROCESSOR_FILE = 'preprocessor_config.json';
/** In the checkpoint, the model's parameters carry this prefix, beside the optimizer's moments. */
export const CHECKPOINT_PARAM_PREFIX = 'model.';

/** The model saved after `epoch` (--save-model-every). */
export function epochModelFile(epoch: number): string {
  return `model_${epoch}.safetensors`;
}

/** The epoch of a model_{epoch}.safetensors name, or null for any other name. */
export function epochOfModelFile(name: string): number | null {
  const match = /^model_(\d+)\.safetensors$/.exec(name);
  return match ? Number(match[1]) : null;
}

/** Files whose presence means a folder already holds an experiment. */
export const EXPERIMENT_MARKERS: readonly string[] = [CHECKPOINT_FILE, METRICS_FILE, FINAL_MODEL_FILE];

/** `vit plot`'s figure of the metrics, by default beside them. */
export const METRICS_FIGURE_FILE = 'metrics.png';

/** Held by the run training into the folder: its process id (see train/experiment-folder.ts). */
export const LOCK_FILE = 'train.lock';
