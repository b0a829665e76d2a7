// The Model view: open a .safetensors file or a Hugging Face ViT folder (picked or dropped), see
// what it is, make it the page's current model, and download the current model as .safetensors.
import { UserError } from '../../../src/errors.js';
import { SEED_NORMALIZATION } from '../../../src/pixels.js';
import type { Normalization } from '../../../src/pixels.js';
import { encodeModelFile } from '../../../src/weights/model-file.js';
import { type ModelInMemory, modelFromFiles } from '../../../src/weights/model-in-memory.js';
import type { AppContext, CurrentModel } from '../context.js';
import { acceptDrops, displayName, pickerButton } from '../file-intake.js';
import { card, element } from './dom.js';

/** A weights file the page can hold: WebAssembly's memory is 4 GB, and the weights are copied into it. */
const MAX_WEIGHTS_BYTES = 2_000_000_000;
/** config.json and preprocessor_config.json are a few kilobytes. */
const MAX_JSON_BYTES = 1_000_000;

/** Refuses a file larger than any the page can use, from its size, before it is read. */
function checkSize(file: File): void {
  const name = displayName(file);
  const json = /\.json$/i.test(name);
  const limit = json ? MAX_JSON_BYTES : MAX_WEIGHTS_BYTES;
  if (file.size > limit) {
    throw new UserError(
      `${name} is ${file.size.toLocaleString('en-US')} bytes, more than the ${(limit / 1e6).toLocaleString('en-US')} MB ` +
        `this page reads for ${json ? 'a config file' : 'a model file'}`,
    );
  }
}

/** The files of a model folder the page reads; anything else dropped with them is left alone. */
const MODEL_FILE = /(\.safetensors|(^|\/)config\.json|(^|\/)preprocessor_config\.json)$/i;

/** How each opened model's file named its tensors (models trained in the page have none). */
const layouts = new WeakMap<CurrentModel, ModelInMemory['layout']>();

export function mountModel(root: HTMLElement, ctx: AppContext): void {
  const info = element('div', { testid: 'model-info' });
  const download = element('button', { testid: 'download-current-model', text: 'Download .safetensors' });
  download.type = 'button';
  download.addEventListener('click', () => ctx.model && downloadModel(ctx.model));

  const drop = element('div', { className: 'drop', testid: 'model-drop' });
  drop.append(element('p', { text: 'Drop a .safetensors file or a model folder here, or' }), element('div', { className: 'buttons' }));
  drop.lastElementChild!.append(
    pickerButton('Choose a .safetensors file', { accept: '.safetensors', testid: 'model-file-input' }, (files) => void open(files)),
    pickerButton('Choose a folder', { folder: true, testid: 'model-folder-input' }, (files) => void open(files)),
  );
  acceptDrops(drop, (files) => void open(files));
  const openCard = card(
    'Open a model',
    drop,
    element('p', {
      className: 'hint',
      text:
        'A model file from `vit train` (model_final.safetensors, config in its metadata) or this page; ' +
        'an experiment folder of `vit train` (the weights chosen as `--model FOLDER` chooses them); ' +
        'or a Hugging Face ViT folder: config.json + model.safetensors [+ preprocessor_config.json]. ' +
        'It becomes the model Look inside and Classify use.',
    }),
  );
  const currentCard = card('Current model', info, download);
  const layout = element('div', { className: 'grid two' });
  layout.append(currentCard, openCard);
  root.append(layout);

  async function open(files: File[]): Promise<void> {
    ctx.clearError();
    const wanted = files.filter((file) => MODEL_FILE.test(displayName(file)));
    try {
      const chosen = wanted.length > 0 ? wanted : files;
      chosen.forEach(checkSize);
      const opened = modelFromFiles(
        await Promise.all(
          chosen.map(async (file) => ({
            name: displayName(file),
            bytes: new Uint8Array(await file.arrayBuffer()),
          })),
        ),
      );
      const model: CurrentModel = {
        name: opened.name,
        config: opened.config,
        params: opened.params,
        normalization: opened.preprocessor ?? SEED_NORMALIZATION,
      };
      layouts.set(model, opened.layout);
      ctx.setModel(model);
    } catch (e) {
      ctx.showError(e instanceof Error ? e.message : String(e), drop);
    }
  }

  const show = (model: CurrentModel | null): void => {
    info.replaceChildren(
      ...(model
        ? describe(model)
        : [element('p', { className: 'hint', text: 'No model yet: train one in the Train tab, or open one here.' })]),
    );
    download.disabled = model === null;
  };
  ctx.onModelChange(show);
  show(ctx.model);
}

const formatNormalization = ({ mean, std }: Normalization): string =>
  `mean ${mean.map((v) => +v.toFixed(4)).join(', ')} · std ${std.map((v) => +v.toFixed(4)).join(', ')}`;

const LAYOUT_NAMES = { seed: "the seed article's names", fused: 'fused qkv names', hf: "Hugging Face's names" } as const;

function describe(model: CurrentModel): HTMLElement[] {
  const parameters = [...model.params.values()].reduce((sum, values) => sum + values.length, 0);
  const layout = layouts.get(model);
  const stats = element('div', { className: 'stats' });
  const stat = (label: string, value: string, testid?: string): void => {
    const box = element('div', { className: 'stat' });
    box.append(element('span', { text: label }), element('strong', { text: value, ...(testid ? { testid } : {}) }));
    stats.append(box);
  };
  stat('parameters', parameters.toLocaleString('en-US'), 'model-parameters');
  stat('blocks × heads', `${model.config.num_hidden_layers} × ${model.config.num_attention_heads}`);
  stat('image → patches', `${model.config.image_size}² → ${model.config.patch_size}²`);
  stat('classes', String(model.config.num_classes));
  const rows = element('dl', { className: 'config' });
  const entry = (key: string, value: string): void => {
    rows.append(element('dt', { text: key }), element('dd', { text: value, className: 'mono' }));
  };
  entry('tensor names', layout ? LAYOUT_NAMES[layout] : 'trained in this page');
  entry('normalization', formatNormalization(model.normalization));
  for (const [key, value] of Object.entries(model.config)) entry(key, Array.isArray(value) ? value.join(', ') : String(value));
  return [element('p', { className: 'mono', testid: 'model-name', text: model.name }), stats, rows];
}

/** Saves the model as `vit train` writes model_final.safetensors: the seed's names, the config in the metadata. */
function downloadModel(model: CurrentModel): void {
  const bytes = encodeModelFile(model.config, model.params);
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  const base = model.name.slice(model.name.lastIndexOf('/') + 1);
  link.download = base.endsWith('.safetensors') ? base : `${base.replace(/\W+/g, '_') || 'model'}.safetensors`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
