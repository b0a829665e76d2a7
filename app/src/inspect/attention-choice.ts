// The choice of which attention to draw: one block or the mean over the blocks, one head or the
// mean over the heads. Two labelled selects, reachable and changeable by keyboard.
import type { HeadChoice, LayerChoice } from '../../../src/model/cls-attention.js';
import type { ViTConfig } from '../../../src/model/config.js';

export interface AttentionChoice {
  readonly element: HTMLElement;
  readonly layer: LayerChoice;
  readonly head: HeadChoice;
  /** Offers the blocks and heads of `config` (keeping the choice where it still exists). */
  setModel(config: ViTConfig): void;
}

function select(label: string, testid: string, onChange: () => void): { field: HTMLLabelElement; input: HTMLSelectElement } {
  const field = document.createElement('label');
  field.className = 'inline-field';
  const input = document.createElement('select');
  input.dataset.testid = testid;
  input.addEventListener('change', onChange);
  field.append(`${label} `, input);
  return { field, input };
}

function fill(input: HTMLSelectElement, count: number, allLabel: string, one: (i: number) => string): void {
  const previous = input.value;
  input.replaceChildren(new Option(allLabel, 'all'), ...Array.from({ length: count }, (_, i) => new Option(one(i), String(i))));
  input.value = [...input.options].some((o) => o.value === previous) ? previous : 'all';
}

const parse = (value: string): number | 'all' => (value === 'all' ? 'all' : Number(value));

export function createAttentionChoice(onChange: () => void): AttentionChoice {
  const element = document.createElement('div');
  element.className = 'attention-choice';
  const layer = select('Block', 'layer-select', onChange);
  const head = select('Head', 'head-select', onChange);
  element.append(layer.field, head.field);
  return {
    element,
    get layer() {
      return parse(layer.input.value);
    },
    get head() {
      return parse(head.input.value);
    },
    setModel(config) {
      fill(layer.input, config.num_hidden_layers, 'mean of all blocks', (i) => `block ${i}`);
      fill(head.input, config.num_attention_heads, 'mean of all heads', (i) => `head ${i}`);
    },
  };
}
