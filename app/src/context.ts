// What the page's views share: the current model, the test images in use, the thread count and
// the error line. One AppContext is created by main.ts and handed to every view's mountX().
import type { ViTConfig } from '../../src/model/config.js';
import type { Normalization } from '../../src/pixels.js';
import type { ImageSet } from '../../src/data/cifar10.js';
import type { Metrics } from '../../src/train/metrics.js';

export interface CurrentModel {
  /** What the user sees it called: a file name, or the run that trained it. */
  name: string;
  config: ViTConfig;
  /** The parameters under their canonical (seed) names, as toCanonical() gives them. */
  params: Map<string, Float32Array>;
  normalization: Normalization;
  /** Per-epoch metrics when the model was trained in this page. */
  metrics?: Metrics;
}

/** The test images the views look at: the bundled sample's test split, or the user's CIFAR-10. */
export interface TestImages {
  /** Where they came from, for titles and errors ("the bundled sample", a file name). */
  source: string;
  set: ImageSet;
}

export interface AppContext {
  /** Threads the engine runs on: navigator.hardwareConcurrency, or 1 when the page is not cross-origin isolated. */
  readonly threads: number;
  /** Whether SharedArrayBuffer (and so wasm threads) is available. */
  readonly isolated: boolean;
  readonly model: CurrentModel | null;
  setModel(model: CurrentModel): void;
  /** Calls `listener` on every later setModel(); returns a function that stops it. */
  onModelChange(listener: (model: CurrentModel) => void): () => void;
  readonly testImages: TestImages | null;
  setTestImages(images: TestImages): void;
  onTestImagesChange(listener: (images: TestImages) => void): () => void;
  /**
   * Shows one visible line (data-testid="error") right after `near`, the control or card the
   * error came from (at the top of the page without one), and announces it; the page goes on working.
   */
  showError(message: string, near?: HTMLElement): void;
  /** Hides the error line: called as the user acts again, before the new action runs. */
  clearError(): void;
}

/** A list of listeners, each removable by the function subscribe() returns. */
class Listeners<T> {
  private readonly all = new Set<(value: T) => void>();
  subscribe(listener: (value: T) => void): () => void {
    this.all.add(listener);
    return () => this.all.delete(listener);
  }
  emit(value: T): void {
    for (const listener of this.all) listener(value);
  }
}

export interface ErrorElements {
  /** The visible line, moved next to what caused the error; where it starts is its place without one. */
  line: HTMLElement;
  /** An aria-live region that stays put, so that a screen reader hears every error wherever it is shown. */
  announcer: HTMLElement;
}

export function createContext(options: { threads: number; isolated: boolean; errors: ErrorElements }): AppContext {
  const modelListeners = new Listeners<CurrentModel>();
  const imageListeners = new Listeners<TestImages>();
  const { line, announcer } = options.errors;
  const home = { parent: line.parentElement!, next: line.nextSibling };
  let described: HTMLElement | null = null;
  let model: CurrentModel | null = null;
  let testImages: TestImages | null = null;
  return {
    threads: options.threads,
    isolated: options.isolated,
    get model() {
      return model;
    },
    setModel(next) {
      model = next;
      modelListeners.emit(next);
    },
    onModelChange: (listener) => modelListeners.subscribe(listener),
    get testImages() {
      return testImages;
    },
    setTestImages(next) {
      testImages = next;
      imageListeners.emit(next);
    },
    onTestImagesChange: (listener) => imageListeners.subscribe(listener),
    showError(message, near) {
      this.clearError();
      // Beside a form field means after its label, which holds the field.
      if (near) (near.closest('label') ?? near).after(line);
      else home.parent.insertBefore(line, home.next);
      line.textContent = message;
      line.hidden = false;
      announcer.textContent = message;
      // A form control at fault says so to assistive technology, and points at the message.
      if (near instanceof HTMLInputElement || near instanceof HTMLSelectElement) {
        described = near;
        near.setAttribute('aria-invalid', 'true');
        near.setAttribute('aria-describedby', line.id);
      }
    },
    clearError() {
      line.textContent = '';
      line.hidden = true;
      announcer.textContent = '';
      described?.removeAttribute('aria-invalid');
      described?.removeAttribute('aria-describedby');
      described = null;
    },
  };
}
