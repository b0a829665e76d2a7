// The messages between the Train view (page) and its training worker.
import type { ImageSet } from '../../../src/data/cifar10.js';
import type { ViTConfig } from '../../../src/model/config.js';
import type { BatchProgress, EvaluationProgress, TrainStart } from '../../../src/train/trainer.js';
import type { EpochResult, Metrics } from '../../../src/train/metrics.js';
import type { Normalization } from '../../../src/pixels.js';
import type { KnobValues } from './knobs.js';

/** The model config keys the form offers; the rest stay the seed's. */
export type ModelChoice = Pick<ViTConfig, 'patch_size' | 'hidden_size' | 'num_hidden_layers' | 'num_attention_heads' | 'intermediate_size'>;

/** What the form asks for: the model, and the knobs (src/train/settings.ts keys; left out = the default). */
export type RunRequest = { model: ModelChoice } & KnobValues;

/** A model to fine-tune instead of the seed's initialization: the page's current model. */
export interface InitialModel {
  name: string;
  config: ViTConfig;
  params: Map<string, Float32Array>;
  normalization: Normalization;
}

export interface FileChecksum {
  name: string;
  bytes: number;
  sha256: string;
}

/** The data a run trains on: the bundled sample, or files the user gave (known again by their checksums). */
export type DataChoice = { kind: 'sample' } | { kind: 'files'; files: FileChecksum[] };

export type ToWorker =
  | { type: 'load-sample'; baseUrl: string }
  | { type: 'load-files'; files: File[] }
  | { type: 'start'; request: RunRequest; initial?: InitialModel }
  /** Continue the run kept in IndexedDB from its last checkpoint, as `vit train --resume`. */
  | { type: 'continue' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'data'; data: DataChoice; description: string; trainImages: number; test: ImageSet }
  | {
      type: 'start';
      start: Pick<
        TrainStart,
        'startEpoch' | 'epochs' | 'budget' | 'batchesPerEpoch' | 'trainImages' | 'evalImages' | 'parameters' | 'evaluatedOn' | 'engine'
      >;
    }
  | { type: 'batch'; progress: BatchProgress }
  /** A pause reached the loop: the run holds after this batch until resumed or stopped. */
  | { type: 'paused'; progress: BatchProgress }
  | { type: 'evaluation'; progress: EvaluationProgress }
  | { type: 'epoch'; result: EpochResult }
  | { type: 'notice'; message: string }
  /** The files kept in this browser's storage for Continue; `failed` says why the run's could not be. */
  | { type: 'kept'; files: FileChecksum[]; failed?: string }
  /** The run ended: finished (with the final model and config.json) or stopped. */
  | { type: 'done'; stopped: boolean; metrics: Metrics; model?: Uint8Array; configJson: string }
  | { type: 'error'; message: string };
