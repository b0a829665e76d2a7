// The run's settings as a form: the model config, and the knobs (./knobs.ts), each a field keyed by
// its setting (src/train/settings.ts), which gives its choices and its default. Empty knobs mean
// the default (shown as the placeholder: the recipe's value, or the table's), as leaving out a flag
// does. A time budget (in minutes, fractions allowed) replaces the epochs: the one typed last counts,
// the other empties.
import { UserError } from '../../../src/errors.js';
import { SEED_CONFIG } from '../../../src/model/config.js';
import { RECIPES, type RecipeName } from '../../../src/train/recipes.js';
import { SETTINGS, type Setting } from '../../../src/train/settings.js';
import { KNOBS, KNOB_KEYS, type Knob, type KnobKey, type KnobValues } from './knobs.js';
import type { ModelChoice, RunRequest } from './protocol.js';

/** A field's value is missing or no number: the message names the field, and the page shows it beside it. */
export class FieldError extends UserError {
  constructor(
    message: string,
    readonly field: HTMLInputElement,
  ) {
    super(message);
  }
}

const MODEL_FIELDS: readonly { key: keyof ModelChoice; label: string }[] = [
  { key: 'patch_size', label: 'Patch size' },
  { key: 'hidden_size', label: 'Hidden size' },
  { key: 'num_hidden_layers', label: 'Layers' },
  { key: 'num_attention_heads', label: 'Heads' },
  { key: 'intermediate_size', label: 'Intermediate size' },
];

const setting = (key: KnobKey): Setting<unknown> => SETTINGS[key] as Setting<unknown>;
const knob = (key: KnobKey): Knob => KNOBS[key];

/** A knob's value as its field shows it (a budget in minutes), '' for none. */
function fieldText(key: KnobKey, value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'number' ? String(Number((value / (knob(key).scale ?? 1)).toPrecision(12))) : String(value);
}

export class SettingsForm {
  readonly element: HTMLFormElement;
  private readonly modelInputs = new Map<keyof ModelChoice, HTMLInputElement>();
  private readonly inputs = new Map<KnobKey, HTMLInputElement | HTMLSelectElement>();
  /** "Start from the current model", offered once the page has one. */
  private readonly fromModel: HTMLInputElement;
  private readonly fromModelLabel: HTMLLabelElement;
  private model: { name: string; config: ModelChoice } | null = null;

  /** `initial`: the knobs' first values (the rest empty: their defaults); `fixed`: knobs that cannot change here. */
  constructor(initial: KnobValues, fixed: readonly KnobKey[] = []) {
    this.element = document.createElement('form');
    this.element.className = 'grid two';
    this.element.addEventListener('submit', (event) => event.preventDefault());
    const model = fieldset('Model', 'model-settings');
    for (const { key, label } of MODEL_FIELDS) {
      const input = numberInput(key, '1');
      input.value = String(SEED_CONFIG[key]);
      this.modelInputs.set(key, input);
      model.append(labelled(label, input));
    }
    this.fromModel = document.createElement('input');
    this.fromModel.type = 'checkbox';
    this.fromModel.dataset.testid = 'start-from-model';
    this.fromModel.addEventListener('change', () => this.showModelChoice());
    this.fromModelLabel = document.createElement('label');
    this.fromModelLabel.className = 'check';
    this.fromModelLabel.hidden = true;
    model.append(this.fromModelLabel);
    const training = fieldset('Recipe', 'recipe-settings');
    for (const key of KNOB_KEYS) {
      const choices = setting(key).choices;
      const input = choices ? select(key, choices) : numberInput(key, knob(key).step ?? '1');
      if (fixed.includes(key)) {
        input.disabled = true;
        input.dataset.fixed = 'true';
      }
      this.inputs.set(key, input);
      training.append(labelled(knob(key).label, input));
    }
    this.inputs.get('recipe')!.addEventListener('change', () => this.showDefaults());
    this.inputs.get('timeBudget')!.addEventListener('input', () => this.showBudgetChoice());
    this.inputs.get('epochs')!.addEventListener('input', () => {
      if (this.inputs.get('epochs')!.value !== '') this.inputs.get('timeBudget')!.value = '';
      this.showBudgetChoice();
    });
    this.element.append(model, training);
    this.show({ model: { ...SEED_CONFIG }, ...initial });
  }

  /** Offers to fine-tune `model` (the page's current model) instead of starting from the seed's initialization. */
  offerModel(model: { name: string; config: ModelChoice }): void {
    this.model = model;
    this.fromModelLabel.replaceChildren(this.fromModel, ` Start from the current model (${model.name})`);
    this.fromModelLabel.hidden = false;
    this.showModelChoice();
  }

  /** Whether the run starts from the current model. */
  get startsFromModel(): boolean {
    return this.model !== null && this.fromModel.checked;
  }

  /** The request the form describes; the core checks the values (and names the bad one). Throws when a needed field is empty. */
  request(): RunRequest {
    const model = Object.fromEntries(
      MODEL_FIELDS.map(({ key, label }) => {
        const value = numberIn(this.modelInputs.get(key)!, label);
        if (value === undefined) throw new FieldError(`${label} needs a value`, this.modelInputs.get(key)!);
        return [key, value];
      }),
    ) as unknown as ModelChoice;
    const knobs: Record<string, unknown> = {};
    for (const [key, input] of this.inputs) {
      const { label, scale = 1 } = knob(key);
      if (input instanceof HTMLSelectElement) {
        knobs[key] = input.value;
        continue;
      }
      const value = numberIn(input, label);
      if (value === undefined && setting(key).default === undefined) throw new FieldError(`${label} needs a value`, input);
      if (value !== undefined) knobs[key] = value * scale;
    }
    // A budget decides the epochs; it must be some time.
    if (knobs.timeBudget !== undefined) {
      const minutes = Number(this.inputs.get('timeBudget')!.value);
      if (!(minutes > 0)) {
        throw new FieldError(
          `${knob('timeBudget').label} must be a number of minutes > 0, or empty to train the epochs (got ${minutes})`,
          this.inputs.get('timeBudget') as HTMLInputElement,
        );
      }
      delete knobs.epochs;
    }
    return { model, ...(knobs as KnobValues) };
  }

  /** Shows a request: a saved run's (a continued run keeps its settings), or the first values. */
  show(request: Partial<RunRequest>): void {
    const { model, ...knobs } = request;
    for (const { key } of MODEL_FIELDS) if (model?.[key] !== undefined) this.modelInputs.get(key)!.value = String(model[key]);
    for (const [key, input] of this.inputs) {
      const value = fieldText(key, (knobs as Record<string, unknown>)[key]);
      // A select keeps its choice when the request has none.
      if (input instanceof HTMLSelectElement) input.value = value || input.value;
      else input.value = value;
    }
    this.showDefaults();
  }

  set disabled(disabled: boolean) {
    for (const control of this.element.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) {
      control.disabled = disabled || control.dataset.fixed === 'true';
    }
  }

  /** With the current model chosen, its config shows in the model fields, which cannot change. */
  private showModelChoice(): void {
    const fixed = this.startsFromModel;
    for (const [key, input] of this.modelInputs) {
      if (fixed) input.value = String(this.model!.config[key]);
      input.dataset.fixed = String(fixed);
      input.disabled = fixed;
    }
  }

  /** Each empty field's placeholder: the recipe's value, the table's default, or what none means. */
  private showDefaults(): void {
    const recipe = this.inputs.get('recipe')!.value as RecipeName;
    for (const [key, input] of this.inputs) {
      if (!(input instanceof HTMLInputElement)) continue;
      const d = setting(key).default;
      const value = typeof d === 'function' ? (d as (r: RecipeName) => unknown)(recipe) : d;
      input.placeholder = value === null ? (knob(key).none ?? '') : fieldText(key, value);
    }
    this.showBudgetChoice();
  }

  /** With a time budget given, the Epochs field is empty and shows "—": the budget decides (typing epochs clears the budget). */
  private showBudgetChoice(): void {
    const budget = this.inputs.get('timeBudget') as HTMLInputElement;
    const epochs = this.inputs.get('epochs') as HTMLInputElement;
    const byBudget = budget.value.trim() !== '' || budget.validity.badInput;
    if (byBudget) epochs.value = '';
    epochs.placeholder = byBudget ? '—' : String(RECIPES[this.inputs.get('recipe')!.value as RecipeName].epochs);
    epochs.title = byBudget ? 'The time budget decides the epochs: as many as fit. A number here trains that many epochs instead.' : '';
  }
}

/** A number field's value; undefined when empty. Text that is no number is a mistake, not "the default". */
function numberIn(input: HTMLInputElement, label: string): number | undefined {
  if (input.validity.badInput) throw new FieldError(`${label} must be a number`, input);
  const text = input.value.trim();
  return text === '' ? undefined : Number(text);
}

function numberInput(key: string, step: string): HTMLInputElement {
  const input = document.createElement('input');
  input.type = 'number';
  input.name = key;
  input.inputMode = step === 'any' ? 'decimal' : 'numeric';
  input.step = step;
  input.dataset.testid = `setting-${key}`;
  return input;
}

function select(key: string, choices: readonly string[]): HTMLSelectElement {
  const input = document.createElement('select');
  input.name = key;
  input.dataset.testid = `setting-${key}`;
  for (const choice of choices) input.append(new Option(choice, choice));
  return input;
}

function fieldset(legend: string, testid: string): HTMLFieldSetElement {
  const set = document.createElement('fieldset');
  set.className = 'card';
  set.dataset.testid = testid;
  const title = document.createElement('legend');
  title.textContent = legend;
  set.append(title);
  return set;
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = document.createElement('label');
  label.className = 'field';
  const span = document.createElement('span');
  span.textContent = text;
  label.append(span, control);
  return label;
}
