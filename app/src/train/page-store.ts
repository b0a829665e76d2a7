// Where the training core saves a page's run: IndexedDB (see run-store.ts). The checkpoint and the
// metrics of an epoch are written in one transaction, so a reload finds them in agreement.
import type { ViTConfig } from '../../../src/model/config.js';
import type { Metrics } from '../../../src/train/metrics.js';
import type { TrainSettings } from '../../../src/train/settings.js';
import { type RunStore, experimentConfig } from '../../../src/train/trainer.js';
import { saveConfigJson, saveEpoch, saveFinalModel, saveMetrics } from './run-store.js';

export class PageStore implements RunStore {
  readonly location = "this browser's storage";
  /** config.json's text, as `vit train` writes it. */
  configJson = '';
  /** The final model file, once the run has finished. */
  finalModel: Uint8Array | undefined;
  private checkpoint: { bytes: Uint8Array; epoch: number } | null = null;

  async saveConfig(config: ViTConfig, settings: TrainSettings): Promise<void> {
    this.configJson = JSON.stringify(experimentConfig(config, settings), null, 2) + '\n';
    await saveConfigJson(this.configJson);
  }

  /** Held until the metrics of the same epoch come (the core saves them right after). */
  saveCheckpoint(bytes: Uint8Array, epoch: number): void {
    this.checkpoint = { bytes, epoch };
  }

  async saveMetrics(metrics: Metrics): Promise<void> {
    const checkpoint = this.checkpoint;
    this.checkpoint = null;
    if (checkpoint) await saveEpoch(checkpoint.epoch, checkpoint.bytes, metrics);
    else await saveMetrics(metrics);
  }

  /** Only the final model is kept: the page offers no per-epoch model files. */
  async saveModel(model: Uint8Array, _epoch: number, final: boolean): Promise<void> {
    if (!final) return;
    this.finalModel = model;
    await saveFinalModel(model);
  }
}
