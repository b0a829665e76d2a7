// The run's files as downloads, named as `vit train` names them in an experiment folder, so that
// `vit eval`, `vit predict`, `vit export` and `vit plot` read them as they read Node's.
import { CONFIG_FILE, FINAL_MODEL_FILE, METRICS_FILE } from '../../../src/io/experiment-layout.js';
import { type Metrics, metricsJson } from '../../../src/train/metrics.js';

export class Downloads {
  readonly element: HTMLElement;
  private readonly links = new Map<string, HTMLAnchorElement>();

  constructor() {
    this.element = document.createElement('section');
    this.element.className = 'card';
    const title = document.createElement('h2');
    title.textContent = 'Files';
    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    for (const [name, testid] of [
      [FINAL_MODEL_FILE, 'download-model'],
      [METRICS_FILE, 'download-metrics'],
      [CONFIG_FILE, 'download-config'],
    ] as const) {
      const link = document.createElement('a');
      link.className = 'button';
      link.textContent = name;
      link.download = name;
      link.dataset.testid = testid;
      link.setAttribute('aria-disabled', 'true');
      this.links.set(name, link);
      buttons.append(link);
    }
    const hint = document.createElement('p');
    hint.className = 'hint';
    hint.textContent =
      'The files vit train writes: vit eval, predict and export take the model; vit plot reads a folder with metrics.json and config.json.';
    this.element.append(title, buttons, hint);
  }

  /** Offers what the run has so far: the metrics and config after each epoch, the model at the end. */
  offer(files: { metrics?: Metrics; configJson?: string; model?: Uint8Array }): void {
    if (files.metrics) this.set(METRICS_FILE, new Blob([metricsJson(files.metrics)], { type: 'application/json' }));
    if (files.configJson) this.set(CONFIG_FILE, new Blob([files.configJson], { type: 'application/json' }));
    if (files.model) this.set(FINAL_MODEL_FILE, new Blob([files.model as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  }

  clear(): void {
    for (const link of this.links.values()) {
      if (link.href) URL.revokeObjectURL(link.href);
      link.removeAttribute('href');
      link.setAttribute('aria-disabled', 'true');
    }
  }

  private set(name: string, blob: Blob): void {
    const link = this.links.get(name)!;
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.removeAttribute('aria-disabled');
  }
}
