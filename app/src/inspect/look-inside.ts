// The Look inside view: the article's figure for test images (each image beside its [CLS]
// attention map, titled "gt / pred", green when right, red when wrong) for a chosen block and
// head or their mean; the confusion matrix over the test set; the most confidently wrong images.
import { averageClsAttention } from '../../../src/model/cls-attention.js';
import { Random } from '../../../src/random.js';
import { TITLE_COLOURS } from '../../../src/viz/attention-map.js';
import type { AppContext, CurrentModel, TestImages } from '../context.js';
import { type AttentionChoice, createAttentionChoice } from './attention-choice.js';
import { card, element } from './dom.js';
import { type InferenceClient, inferenceClient } from './inference-client.js';
import { overlayCanvas, rgbCanvas, testImage } from './pictures.js';
import type { Requests } from './protocol.js';
import { type Mistake, confusionMatrix, mostConfidentlyWrong, predictedClass } from './test-results.js';

/** Test images in the figure, and mistakes shown. */
const FIGURE_IMAGES = 10;
const MISTAKES = 9;
/** Past this many classes the matrix is too large to read; the accuracy is still shown. */
const MATRIX_CLASSES = 20;

/** What the worker said about the current model on the current test images. */
interface Evaluation {
  model: CurrentModel;
  images: TestImages;
  labels: string[];
  classes: number;
  probabilities: Float32Array;
  mistakes: Mistake[];
}

/** The pictures drawn: the figure's test images, then the mistakes', with their attention rows. */
interface Shown {
  evaluation: Evaluation;
  indices: number[];
  attention: Requests['attention']['result'];
}

export function mountLookInside(root: HTMLElement, ctx: AppContext): void {
  const choice = createAttentionChoice(() => shown && drawFigures(shown));
  let seed = 0;
  const others = element('button', { text: 'Other test images', testid: 'other-images' });
  others.type = 'button';
  others.addEventListener('click', () => {
    ctx.clearError();
    seed++;
    void refresh();
  });
  const status = element('p', { className: 'hint', testid: 'inside-status' });
  status.setAttribute('aria-live', 'polite');
  const controls = element('div', { className: 'controls' });
  controls.append(choice.element, others, status);

  const figure = element('div', { className: 'figure', testid: 'attention-figure' });
  const figureCard = card('Where the [CLS] token looks', controls, figure);
  const summary = element('p', { testid: 'inside-accuracy' });
  const matrix = element('div', { className: 'matrix-wrap', testid: 'confusion-matrix' });
  // Wider than a phone: the table scrolls sideways; the region can take the focus (arrow keys scroll it), and a hint says so.
  matrix.tabIndex = 0;
  matrix.setAttribute('role', 'region');
  matrix.setAttribute('aria-label', 'Confusion matrix');
  const scrollHint = element('p', {
    className: 'hint',
    testid: 'matrix-scroll-hint',
    text: 'The matrix is wider than the screen: scroll it sideways →',
  });
  scrollHint.hidden = true;
  new ResizeObserver(() => {
    const wider = matrix.scrollWidth > matrix.clientWidth;
    scrollHint.hidden = !wider;
    matrix.classList.toggle('scrolls', wider);
  }).observe(matrix);
  const wrong = element('div', { className: 'figure compact', testid: 'confident-wrong' });
  const lower = element('div', { className: 'grid two' });
  lower.append(card('Confusion matrix', summary, scrollHint, matrix), card('Most confidently wrong', wrong));
  root.append(figureCard, lower);

  let evaluation: Evaluation | undefined;
  let shown: Shown | undefined;
  let asked = 0;

  async function refresh(): Promise<void> {
    const { model, testImages: images } = ctx;
    const unusable = whyNot(model, images);
    if (unusable !== null || !model || !images) {
      status.textContent = unusable;
      evaluation = shown = undefined;
      for (const drawn of [figure, summary, matrix, wrong]) drawn.replaceChildren();
      return;
    }
    const ticket = ++asked;
    others.disabled = true;
    try {
      const client = inferenceClient(ctx.threads);
      if (evaluation?.model !== model || evaluation.images !== images) {
        status.textContent = `Running ${model.name} on ${images.set.count.toLocaleString('en-US')} test images…`;
        evaluation = await evaluate(client, model, images);
        if (ticket !== asked) return;
        drawSummary(evaluation, summary, matrix);
      }
      const indices = [...figureImages(images.set.count, seed), ...evaluation.mistakes.map((m) => m.index)];
      const attention = await client.request('attention', { indices });
      if (ticket !== asked) return;
      shown = { evaluation, indices, attention };
      choice.setModel(model.config);
      status.textContent = `${model.name} on ${images.source}`;
      drawFigures(shown);
    } catch (e) {
      if (ticket === asked) {
        status.textContent = '';
        ctx.showError(e instanceof Error ? e.message : String(e), controls);
      }
    } finally {
      if (ticket === asked) others.disabled = false;
    }
  }

  function drawFigures(drawn: Shown): void {
    const mistakes = drawn.evaluation.mistakes;
    const figureCount = drawn.indices.length - mistakes.length;
    const item = (position: number, extra = ''): HTMLElement => attentionItem(drawn, position, choice, extra);
    figure.replaceChildren(...Array.from({ length: figureCount }, (_, i) => item(i)));
    wrong.replaceChildren(
      ...(mistakes.length === 0
        ? [element('p', { className: 'hint', text: 'No mistakes on these test images.' })]
        : mistakes.map((m, i) => item(figureCount + i, ` (${(m.confidence * 100).toFixed(0)}%)`))),
    );
  }

  ctx.onModelChange(() => void refresh());
  ctx.onTestImagesChange(() => void refresh());
  void refresh();
}

/** Why Look inside cannot run `model` on `images`, or null when it can. */
function whyNot(model: CurrentModel | null, images: TestImages | null): string | null {
  if (!model) return 'No model yet: train one in the Train tab, or open one in the Model tab.';
  if (!images) return 'The test images are loading…';
  const classes = images.set.classNames.length;
  if (model.config.num_classes === classes) return null;
  return (
    `${model.name} has ${model.config.num_classes} classes, the test images (${images.source}) ${classes}: ` +
    'Look inside needs a model of their classes. Classify works with any model.'
  );
}

async function evaluate(client: InferenceClient, model: CurrentModel, images: TestImages): Promise<Evaluation> {
  const { labels } = await client.useModel(model);
  await client.useTestImages(images.set);
  const { probabilities, classes } = await client.request('evaluate', {});
  const mistakes = mostConfidentlyWrong(images.set.labels, probabilities, classes, MISTAKES);
  return { model, images, labels, classes, probabilities, mistakes };
}

/** One picture of the figure: its "gt / pred" title (green right, red wrong), the image and the image under its attention. */
function attentionItem({ evaluation, indices, attention }: Shown, position: number, choice: AttentionChoice, extra: string): HTMLElement {
  const { set } = evaluation.images;
  const index = indices[position]!;
  const truth = set.labels[index]!;
  const predicted = predictedClass(evaluation.probabilities, evaluation.classes, index);
  const map = averageClsAttention(attention.rows, attention.shape, position, choice.layer, choice.head);
  const picture = testImage(set, index);
  const cell = element('figure', { className: 'attention-item', testid: 'attention-item' });
  const caption = element('figcaption', { text: `gt: ${set.classNames[truth] ?? truth} / pred: ${evaluation.labels[predicted]}${extra}` });
  caption.style.color = truth === predicted ? TITLE_COLOURS.correct : TITLE_COLOURS.wrong;
  const pair = element('div', { className: 'pair' });
  pair.append(
    rgbCanvas(picture, `test image ${index}`),
    overlayCanvas(picture, map, attention.gridSize, `its [CLS] attention, test image ${index}`),
  );
  cell.append(caption, pair);
  return cell;
}

/** The accuracy line and the confusion matrix. */
function drawSummary(evaluation: Evaluation, summary: HTMLElement, matrix: HTMLElement): void {
  const { set } = evaluation.images;
  const { classes } = evaluation;
  const counts = confusionMatrix(set.labels, evaluation.probabilities, classes);
  let correct = 0;
  for (let c = 0; c < classes; c++) correct += counts[c * classes + c]!;
  summary.textContent =
    `Accuracy ${((100 * correct) / set.count).toFixed(2)}% (${correct.toLocaleString('en-US')} of ${set.count.toLocaleString('en-US')}). ` +
    'Rows: the true class; columns: the prediction.';
  summary.dataset.correct = String(correct);
  matrix.replaceChildren(
    classes <= MATRIX_CLASSES
      ? matrixTable(counts, classes, evaluation.labels)
      : element('p', { className: 'hint', text: `${classes} classes: too many to draw.` }),
  );
}

/** The test images of the figure: those `vit attention --n 10 --seed S` draws, for seed S. */
function figureImages(count: number, seed: number): number[] {
  if (count <= FIGURE_IMAGES) return Array.from({ length: count }, (_, i) => i);
  return [...new Random(seed).permutation(count).subarray(0, FIGURE_IMAGES).sort()];
}

function matrixTable(counts: Uint32Array, classes: number, labels: readonly string[]): HTMLTableElement {
  const table = element('table', { className: 'matrix' });
  const head = table.createTHead().insertRow();
  head.append(element('th', { text: 'true ↓ / pred →' }));
  for (let c = 0; c < classes; c++) {
    const th = element('th', { text: labels[c]!.slice(0, 4) });
    th.title = labels[c]!;
    th.scope = 'col';
    head.append(th);
  }
  const body = table.createTBody();
  for (let t = 0; t < classes; t++) {
    const row = body.insertRow();
    const th = element('th', { text: labels[t]! });
    th.scope = 'row';
    row.append(th);
    let total = 0;
    for (let p = 0; p < classes; p++) total += counts[t * classes + p]!;
    for (let p = 0; p < classes; p++) {
      const n = counts[t * classes + p]!;
      const cell = row.insertCell();
      cell.textContent = String(n);
      const share = total > 0 ? n / total : 0;
      // Right answers in green, confusions in red, stronger for a larger share of the row; at most
      // 60% strong, where the ink on them still has WCAG's contrast of 4.5 (white text would not
      // have it on the middle shades).
      const strength = 0.1 + 0.5 * share;
      cell.style.background = n === 0 ? '' : t === p ? `rgba(29, 122, 62, ${strength})` : `rgba(179, 38, 30, ${strength})`;
    }
  }
  return table;
}
