// The Classify view: an image dropped, pasted, picked or taken with the camera; the model's five
// most likely classes with bars, and where its [CLS] token looks, drawn over the image itself.
import { averageClsAttention } from '../../../src/model/cls-attention.js';
import type { AppContext } from '../context.js';
import { createAttentionChoice } from './attention-choice.js';
import { card, element } from './dom.js';
import { acceptDrops, displayName, pickerButton } from '../file-intake.js';
import { inferenceClient } from './inference-client.js';
import { overlayCanvas, rgbCanvas } from './pictures.js';
import type { Requests } from './protocol.js';

type Classified = Requests['classify']['result'];

/** Pictures whose longer side is shorter than this are drawn with sharp pixels. */
const SHARP_BELOW = 128;

export function mountClassify(root: HTMLElement, ctx: AppContext): void {
  const drop = element('div', { className: 'drop', testid: 'classify-drop' });
  const buttons = element('div', { className: 'buttons' });
  const picked = (files: File[]): void => void classifyAll(files.map((file) => ({ image: file, name: displayName(file) })));
  buttons.append(pickerButton('Choose images', { accept: 'image/*', multiple: true, testid: 'classify-file-input' }, picked));
  const camera = cameraControls((blob) => void classifyAll([{ image: blob, name: 'camera picture' }]));
  if (camera) buttons.append(camera.button);
  drop.append(element('p', { text: 'Drop images here, paste one (Ctrl+V / ⌘V), or' }), buttons);
  acceptDrops(drop, picked);
  document.addEventListener('paste', (event) => {
    if (root.hidden) return;
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    event.preventDefault();
    void classifyAll(files.map((file) => ({ image: file, name: file.name || 'pasted image' })));
  });
  const inputCard = card(
    'Your images',
    drop,
    ...(camera ? [camera.preview] : []),
    element('p', {
      className: 'hint',
      text: 'Decoded by the browser, then resized and normalized by the code `vit predict` runs, so both give the same answer.',
    }),
  );

  const status = element('p', { className: 'hint', testid: 'classify-status', text: 'No image yet.' });
  status.setAttribute('aria-live', 'polite');
  const pictures = element('div', { className: 'pair large' });
  const top5 = element('ol', { className: 'bars', testid: 'top5' });
  const choice = createAttentionChoice(() => last && drawPictures(last));
  choice.element.hidden = true; // until there is a picture to draw the attention over
  const resultCard = card('Prediction and attention', status, choice.element, pictures, top5);
  resultCard.dataset.testid = 'classify-result';
  // Several images at once: one tile each (the picture and its top class); a tile shows its details above.
  const tiles = element('ol', { className: 'tiles', testid: 'classify-tiles' });
  const tilesCard = card('All the images', tiles);
  tilesCard.hidden = true;
  const layout = element('div', { className: 'grid sidebar' });
  layout.append(inputCard, resultCard);
  root.append(layout, tilesCard);

  let last: Named | undefined;
  let asked = 0;
  // The choice offers the current model's blocks and heads before the first image, too.
  if (ctx.model) choice.setModel(ctx.model.config);
  ctx.onModelChange((model) => choice.setModel(model.config));

  /** Classifies every image given, one after another, as `vit predict` does a list of files. */
  async function classifyAll(images: { image: Blob; name: string }[]): Promise<void> {
    ctx.clearError();
    const model = ctx.model;
    if (!model) {
      ctx.showError('No model yet: train one in the Train tab or open one in the Model tab, then classify.', drop);
      return;
    }
    const ticket = ++asked;
    const many = images.length > 1;
    tilesCard.hidden = !many;
    const slots = images.map(({ name }) => tile(name));
    tiles.replaceChildren(...slots.map((slot) => slot.item));
    const failures: string[] = [];
    let shown = false;
    for (const [i, { image, name }] of images.entries()) {
      status.textContent = many ? `Classifying ${i + 1} of ${images.length}: ${name}…` : `Classifying ${name}…`;
      try {
        const client = inferenceClient(ctx.threads);
        await client.useModel(model);
        const result = { ...(await client.request('classify', { image, name })), name, by: model.name };
        if (ticket !== asked) return; // newer images were given meanwhile
        slots[i]!.show(result, () => showDetails(result));
        if (!shown) showDetails(result);
        shown = true;
      } catch (e) {
        if (ticket !== asked) return;
        const message = e instanceof Error ? e.message : String(e);
        failures.push(message);
        slots[i]!.fail(message);
      }
    }
    if (many)
      status.textContent =
        `${images.length - failures.length} of ${images.length} images classified by ${model.name}` +
        (shown ? '; pick a tile for its top 5 and attention.' : '.');
    else if (!shown) status.textContent = 'No image classified.';
    if (failures.length > 0) {
      ctx.showError(
        many ? `${failures.length} of ${images.length} files could not be classified: ${failures.join('; ')}` : failures[0]!,
        drop,
      );
    }
  }

  function showDetails(result: Named): void {
    last = result;
    choice.element.hidden = false;
    status.textContent = `${result.name} (${result.picture.width}×${result.picture.height} shown), by ${result.by}`;
    drawPictures(result);
    drawBars(result);
    for (const item of tiles.querySelectorAll('button')) item.setAttribute('aria-pressed', String(item.dataset.name === result.name));
  }

  function drawPictures(result: Classified): void {
    const map = averageClsAttention(result.rows, result.shape, 0, choice.layer, choice.head);
    const overlay = overlayCanvas(result.picture, map, result.gridSize, 'the image under its [CLS] attention map');
    overlay.dataset.testid = 'classify-overlay';
    pictures.replaceChildren(rgbCanvas(result.picture, 'the image'), overlay);
    // Small pictures are zoomed in with their pixels kept sharp; photos are smoothed as usual.
    pictures.classList.toggle('pixelated', Math.max(result.picture.width, result.picture.height) < SHARP_BELOW);
  }

  function drawBars(result: Classified): void {
    top5.replaceChildren(
      ...result.top.map(({ label, score }) => {
        const row = element('li', { testid: 'prediction' });
        row.dataset.label = label;
        row.dataset.score = String(score);
        const bar = element('span', { className: 'bar' });
        bar.style.setProperty('--share', `${(score * 100).toFixed(2)}%`);
        row.append(
          element('span', { className: 'label', text: label }),
          bar,
          element('span', { className: 'score', text: `${(score * 100).toFixed(1)}%` }),
        );
        return row;
      }),
    );
  }
}

/** A classified image with its name and the model that classified it. */
type Named = Classified & { name: string; by: string };

/** One image's tile in the grid: waiting, then its picture and top class (a button showing its details), or why it failed. */
function tile(name: string): { item: HTMLLIElement; show(result: Named, onPick: () => void): void; fail(message: string): void } {
  const item = element('li');
  const caption = element('span', { className: 'tile-name', text: name });
  item.append(element('span', { className: 'hint', text: '…' }), caption);
  return {
    item,
    show(result, onPick) {
      const [best] = result.top;
      const button = element('button', { className: 'tile', testid: 'classify-tile' });
      button.type = 'button';
      button.dataset.name = name;
      button.dataset.label = best!.label;
      button.dataset.score = String(best!.score);
      button.addEventListener('click', onPick);
      const picture = rgbCanvas(result.picture, name);
      picture.classList.toggle('pixelated', Math.max(result.picture.width, result.picture.height) < SHARP_BELOW);
      button.append(
        picture,
        element('span', { className: 'tile-name', text: name }),
        element('strong', { text: `${best!.label} ${(best!.score * 100).toFixed(1)}%` }),
      );
      item.replaceChildren(button);
    },
    fail(message) {
      item.className = 'failed';
      item.replaceChildren(
        element('span', { className: 'tile-name', text: name }),
        element('span', { className: 'tile-error', testid: 'classify-tile-error', text: message }),
      );
    },
  };
}

/** A camera button and its preview, where the browser offers a camera (getUserMedia); null elsewhere. */
function cameraControls(onPicture: (picture: Blob) => void): { button: HTMLButtonElement; preview: HTMLElement } | null {
  if (!navigator.mediaDevices?.getUserMedia) return null;
  const button = element('button', { text: 'Use the camera', testid: 'classify-camera' });
  button.type = 'button';
  const preview = element('div', { className: 'camera' });
  preview.hidden = true;
  const video = element('video');
  video.playsInline = true;
  video.muted = true;
  const take = element('button', { text: 'Take the picture', className: 'primary' });
  take.type = 'button';
  preview.append(video, take);
  let stream: MediaStream | undefined;
  const stop = (): void => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = undefined;
    preview.hidden = true;
    button.textContent = 'Use the camera';
  };
  button.addEventListener('click', async () => {
    if (stream) return stop();
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true });
    } catch (e) {
      button.textContent = `No camera (${e instanceof Error ? e.name : 'refused'})`;
      return;
    }
    video.srcObject = stream;
    await video.play();
    preview.hidden = false;
    button.textContent = 'Close the camera';
    take.focus();
  });
  take.addEventListener('click', () => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d')!.drawImage(video, 0, 0);
    canvas.toBlob((blob) => blob && onPicture(blob), 'image/png');
  });
  return { button, preview };
}
