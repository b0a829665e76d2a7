// The Data card: the bundled sample, or the user's CIFAR-10 picked or dropped; what is loaded,
// with each file's SHA-256; the files kept in this browser's storage for Continue, and a way to forget them.
import { acceptDrops } from '../file-intake.js';
import type { FileChecksum } from './protocol.js';

export class DataPanel {
  readonly element: HTMLFieldSetElement;
  private readonly status: HTMLElement;
  private readonly checksums: HTMLElement;
  private readonly controls: (HTMLButtonElement | HTMLInputElement)[];
  private readonly kept: HTMLElement;
  private readonly keptLine: HTMLElement;

  constructor(handlers: { useSample(): void; useFiles(files: File[]): void; forgetKept(): void }) {
    this.element = document.createElement('fieldset');
    this.element.className = 'card';
    this.element.dataset.testid = 'data-panel';
    const legend = document.createElement('legend');
    legend.textContent = 'Data';
    const sample = document.createElement('button');
    sample.type = 'button';
    sample.textContent = 'Use the bundled sample';
    sample.dataset.testid = 'use-sample';
    sample.addEventListener('click', handlers.useSample);

    const drop = document.createElement('label');
    drop.className = 'drop';
    drop.dataset.testid = 'data-drop';
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.accept = '.gz,.tgz,.bin,.txt';
    input.dataset.testid = 'data-files';
    input.addEventListener('change', () => {
      if (input.files && input.files.length > 0) handlers.useFiles([...input.files]);
      input.value = '';
    });
    const hint = document.createElement('span');
    hint.textContent = 'Your CIFAR-10: drop or pick cifar-10-binary.tar.gz, or its data_batch_N.bin and test_batch.bin files.';
    drop.append(hint, document.createElement('br'), input);
    acceptDrops(drop, (files) => {
      if (!input.disabled) handlers.useFiles(files);
    });

    this.status = document.createElement('p');
    this.status.dataset.testid = 'data-status';
    this.status.setAttribute('aria-live', 'polite');
    this.checksums = document.createElement('ul');
    this.checksums.className = 'mono';
    this.checksums.dataset.testid = 'data-checksums';
    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    buttons.append(sample);

    this.kept = document.createElement('div');
    this.kept.dataset.testid = 'kept-data';
    this.kept.hidden = true;
    this.keptLine = document.createElement('p');
    this.keptLine.className = 'hint';
    const forget = document.createElement('button');
    forget.type = 'button';
    forget.textContent = 'Forget the kept files';
    forget.dataset.testid = 'forget-data';
    forget.addEventListener('click', handlers.forgetKept);
    this.kept.append(this.keptLine, forget);
    this.element.append(legend, buttons, drop, this.status, this.checksums, this.kept);
    this.controls = [sample, input, forget];
  }

  /** The files kept for Continue and what this page takes of the browser's storage in all (null: not known). */
  showKept(files: readonly FileChecksum[], usage: number | null): void {
    this.kept.hidden = files.length === 0;
    const list = files.map((file) => `${file.name} (${megabytes(file.bytes)})`).join(', ');
    this.keptLine.textContent =
      `Kept in this browser's storage, so that Continue needs nothing picked after a reload: ${list}` +
      `${usage === null ? '' : `; this page's storage in all: ${megabytes(usage)}`}.`;
  }

  loading(what: string): void {
    this.status.textContent = `Reading ${what}…`;
    this.checksums.replaceChildren();
  }

  loaded(description: string, trainImages: number, testImages: number, files: readonly FileChecksum[]): void {
    this.status.textContent = `Loaded ${description}: ${trainImages.toLocaleString('en-US')} training and ${testImages.toLocaleString('en-US')} test images`;
    this.checksums.replaceChildren(
      ...files.map((file) => {
        const item = document.createElement('li');
        item.textContent = `${file.name} (${file.bytes.toLocaleString('en-US')} bytes) SHA-256 ${file.sha256}`;
        return item;
      }),
    );
  }

  /** Loading failed: says what is still in use, if anything. */
  failed(stillUsing: string | null): void {
    this.status.textContent = stillUsing === null ? 'No data loaded.' : `Still using ${stillUsing}.`;
  }

  set disabled(disabled: boolean) {
    for (const control of this.controls) control.disabled = disabled;
  }
}

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
