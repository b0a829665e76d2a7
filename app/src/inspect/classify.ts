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
  buttons.append(pickerButton('Choose an image', { accept: 'image/*', testid: 'classify-file-input' }, (files) => void classifyFile(files[0]!, displayName(files[0]!))));
  const camera = cameraControls((blob) => void classifyFile(blob, 'camera picture'));
  if (camera) buttons.append(camera.button);
  drop.append(element('p', { text: 'Drop an image here, paste one (Ctrl+V / ⌘V), or' }), buttons);
  acceptDrops(drop, (files) => void classifyFile(files[0]!, displayName(files[0]!)));
  document.addEventListener('paste', (event) => {
    if (root.hidden) return;
    const file = [...(event.clipboardData?.files ?? [])][0];
    if (!file) return;
    event.preventDefault();
    void classifyFile(file, file.name || 'pasted image');
  });
  const inputCard = card('Your image', drop, ...(camera ? [camera.preview] : []),
    element('p', { className: 'hint', text: 'Decoded by the browser, then resized and normalized by the code `vit predict` runs, so both give the same answer.' }));

  const status = element('p', { className: 'hint', testid: 'classify-status', text: 'No image yet.' });
  status.setAttribute('aria-live', 'polite');
  const pictures = element('div', { className: 'pair large' });
  const top5 = element('ol', { className: 'bars', testid: 'top5' });
  const choice = createAttentionChoice(() => last && drawPictures(last));
  choice.element.hidden = true; // until there is a picture to draw the attention over
  const resultCard = card('Prediction and attention', status, choice.element, pictures, top5);
  resultCard.dataset.testid = 'classify-result';
  const layout = element('div', { className: 'grid sidebar' });
  layout.append(inputCard, resultCard);
  root.append(layout);

  let last: Classified | undefined;
  let asked = 0;
  // The choice offers the current model's blocks and heads before the first image, too.
  if (ctx.model) choice.setModel(ctx.model.config);
  ctx.onModelChange((model) => choice.setModel(model.config));

  async function classifyFile(image: Blob, name: string): Promise<void> {
    const model = ctx.model;
    if (!model) {
      ctx.showError('No model yet: train one in the Train tab or open one in the Model tab, then classify.');
      return;
    }
    const ticket = ++asked;
    status.textContent = `Classifying ${name}…`;
    try {
      const client = inferenceClient(ctx.threads);
      await client.useModel(model);
      const result = await client.request('classify', { image, name });
      if (ticket !== asked) return; // a newer image was given meanwhile
      ctx.clearError();
      last = result;
      choice.element.hidden = false;
      status.textContent = `${name} (${result.picture.width}×${result.picture.height} shown), by ${model.name}`;
      drawPictures(result);
      drawBars(result);
    } catch (e) {
      if (ticket !== asked) return;
      status.textContent = 'No image classified.';
      ctx.showError(e instanceof Error ? e.message : String(e));
    }
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
    top5.replaceChildren(...result.top.map(({ label, score }) => {
      const row = element('li', { testid: 'prediction' });
      row.dataset.label = label;
      row.dataset.score = String(score);
      const bar = element('span', { className: 'bar' });
      bar.style.setProperty('--share', `${(score * 100).toFixed(2)}%`);
      row.append(element('span', { className: 'label', text: label }), bar, element('span', { className: 'score', text: `${(score * 100).toFixed(1)}%` }));
      return row;
    }));
  }
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
