// The run's settings as a form: the model config, the recipe and its main knobs, the threads.
// Empty knobs mean "the recipe's value" (shown as the placeholder), as leaving out a flag does.
// A time budget (in minutes, fractions allowed) replaces the epochs: the Epochs field stands aside.
import { UserError } from '../../../src/errors.js';
import { SEED_CONFIG } from '../../../src/model/config.js';
import { RECIPES, RECIPE_NAMES, type RecipeName } from '../../../src/train/recipes.js';
import type { ModelChoice, RunRequest } from './protocol.js';

/** A field's value is missing or no number: the message names the field, and the page shows it beside it. */
export class FieldError extends UserError {
  constructor(message: string, readonly field: HTMLInputElement) {
    super(message);
  }
}

interface NumberField {
  key: string;
  label: string;
  /** Shown when empty; undefined = the field must be filled. */
  placeholder?: (recipe: RecipeName) => string;
  value?: number;
  step?: string;
  min?: number;
}

const MODEL_FIELDS: readonly (NumberField & { key: keyof ModelChoice })[] = [
  { key: 'patch_size', label: 'Patch size', value: SEED_CONFIG.patch_size, min: 1 },
  { key: 'hidden_size', label: 'Hidden size', value: SEED_CONFIG.hidden_size, min: 1 },
  { key: 'num_hidden_layers', label: 'Layers', value: SEED_CONFIG.num_hidden_layers, min: 1 },
  { key: 'num_attention_heads', label: 'Heads', value: SEED_CONFIG.num_attention_heads, min: 1 },
  { key: 'intermediate_size', label: 'Intermediate size', value: SEED_CONFIG.intermediate_size, min: 1 },
];

const RECIPE_FIELDS: readonly NumberField[] = [
  { key: 'seed', label: 'Seed', value: 0, min: 0 },
  { key: 'epochs', label: 'Epochs', placeholder: (r) => String(RECIPES[r].epochs), min: 1 },
  { key: 'timeBudget', label: 'Time budget (minutes)', placeholder: () => 'none', step: 'any', min: 0 },
  { key: 'batchSize', label: 'Batch size', placeholder: (r) => String(RECIPES[r].batchSize), min: 1 },
  { key: 'lr', label: 'Learning rate', placeholder: (r) => String(RECIPES[r].lr), step: 'any', min: 0 },
  { key: 'trainSamples', label: 'Training images', placeholder: () => 'all', min: 1 },
  { key: 'testSamples', label: 'Test images', placeholder: () => 'all', min: 1 },
];

export class SettingsForm {
  readonly element: HTMLFormElement;
  private readonly inputs = new Map<string, HTMLInputElement>();
  private readonly labels = new Map<string, string>();
  private readonly recipe: HTMLSelectElement;
  /** "Start from the current model", offered once the page has one. */
  private readonly fromModel: HTMLInputElement;
  private readonly fromModelLabel: HTMLLabelElement;
  private model: { name: string; config: ModelChoice } | null = null;

  constructor(threads: { value: number; fixed: boolean }) {
    this.element = document.createElement('form');
    this.element.className = 'grid two';
    this.element.addEventListener('submit', (event) => event.preventDefault());
    const model = fieldset('Model', 'model-settings');
    for (const field of MODEL_FIELDS) model.append(this.numberInput(field));
    this.fromModel = document.createElement('input');
    this.fromModel.type = 'checkbox';
    this.fromModel.dataset.testid = 'start-from-model';
    this.fromModel.addEventListener('change', () => this.showModelChoice());
    this.fromModelLabel = document.createElement('label');
    this.fromModelLabel.className = 'check';
    this.fromModelLabel.hidden = true;
    model.append(this.fromModelLabel);
    const training = fieldset('Recipe', 'recipe-settings');
    this.recipe = document.createElement('select');
    this.recipe.name = 'recipe';
    this.recipe.dataset.testid = 'setting-recipe';
    for (const name of RECIPE_NAMES) this.recipe.append(new Option(name === 'seed' ? 'seed (the article)' : 'fast (warmup, decay, token dropping)', name));
    this.recipe.addEventListener('change', () => this.showRecipeDefaults());
    training.append(labelled('Recipe', this.recipe));
    for (const field of RECIPE_FIELDS) training.append(this.numberInput(field));
    this.inputs.get('timeBudget')!.addEventListener('input', () => this.showBudgetChoice());
    const threadInput = this.numberInput({ key: 'threads', label: 'Threads', value: threads.value, min: 1 });
    if (threads.fixed) {
      this.inputs.get('threads')!.disabled = true;
      this.inputs.get('threads')!.dataset.fixed = 'true';
    }
    training.append(threadInput);
    this.element.append(model, training);
    this.showRecipeDefaults();
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
    const optional = (key: string): number | undefined => {
      const input = this.inputs.get(key)!;
      // A number field reads as empty when its text is no number: that is a mistake, not "the default".
      if (input.validity.badInput) throw new FieldError(`${this.labels.get(key)} must be a number`, input);
      const text = input.value.trim();
      return text === '' ? undefined : Number(text);
    };
    const required = (key: string): number => {
      const value = optional(key);
      if (value === undefined) throw new FieldError(`${this.labels.get(key)} needs a value`, this.inputs.get(key)!);
      return value;
    };
    const model = Object.fromEntries(MODEL_FIELDS.map((f) => [f.key, required(f.key)])) as unknown as ModelChoice;
    const request: RunRequest = {
      model,
      recipe: this.recipe.value as RecipeName,
      seed: required('seed'),
      trainSamples: optional('trainSamples') ?? null,
      testSamples: optional('testSamples') ?? null,
      threads: required('threads'),
    };
    for (const key of ['batchSize', 'lr'] as const) {
      const value = optional(key);
      if (value !== undefined) request[key] = value;
    }
    const minutes = optional('timeBudget');
    const epochs = optional('epochs');
    if (minutes !== undefined) request.timeBudget = budgetSeconds(minutes, this.labels.get('timeBudget')!, this.inputs.get('timeBudget')!);
    else if (epochs !== undefined) request.epochs = epochs;
    return request;
  }

  /** Shows a saved run's request (a continued run keeps its settings). */
  show(request: RunRequest): void {
    const { model, recipe, ...knobs } = request;
    this.recipe.value = recipe;
    const values: Record<string, number | null | undefined> = { ...model, ...knobs, timeBudget: knobs.timeBudget && knobs.timeBudget / 60 };
    for (const [key, input] of this.inputs) {
      const value = values[key];
      input.value = value === undefined || value === null ? '' : String(value);
    }
    this.showRecipeDefaults();
  }

  set disabled(disabled: boolean) {
    for (const control of this.element.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) {
      control.disabled = disabled || control.dataset.fixed === 'true';
    }
  }

  /** With the current model chosen, its config shows in the model fields, which cannot change. */
  private showModelChoice(): void {
    const fixed = this.startsFromModel;
    for (const field of MODEL_FIELDS) {
      const input = this.inputs.get(field.key)!;
      if (fixed) input.value = String(this.model!.config[field.key]);
      input.dataset.fixed = String(fixed);
      input.disabled = fixed;
    }
  }

  private numberInput(field: NumberField): HTMLLabelElement {
    const input = document.createElement('input');
    input.type = 'number';
    input.name = field.key;
    input.inputMode = field.step === 'any' ? 'decimal' : 'numeric';
    input.step = field.step ?? '1';
    if (field.min !== undefined) input.min = String(field.min);
    if (field.value !== undefined) input.value = String(field.value);
    input.dataset.testid = `setting-${field.key}`;
    this.inputs.set(field.key, input);
    this.labels.set(field.key, field.label);
    return labelled(field.label, input);
  }

  private showRecipeDefaults(): void {
    const recipe = this.recipe.value as RecipeName;
    for (const field of RECIPE_FIELDS) {
      if (field.placeholder) this.inputs.get(field.key)!.placeholder = field.placeholder(recipe);
    }
    this.showBudgetChoice();
  }

  /** With a time budget given, the Epochs field is empty, shows "—" and cannot change: the budget decides. */
  private showBudgetChoice(): void {
    const budget = this.inputs.get('timeBudget')!;
    const epochs = this.inputs.get('epochs')!;
    const byBudget = budget.value.trim() !== '' || budget.validity.badInput;
    if (byBudget) epochs.value = '';
    epochs.placeholder = byBudget ? '—' : String(RECIPES[this.recipe.value as RecipeName].epochs);
    epochs.title = byBudget ? 'The time budget decides the epochs: as many as fit' : '';
    epochs.dataset.fixed = String(byBudget);
    epochs.disabled = byBudget || budget.disabled;
  }
}

/** The form's minutes as the core's seconds; a budget must be a positive number of minutes. */
function budgetSeconds(minutes: number, label: string, field: HTMLInputElement): number {
  if (!(Number.isFinite(minutes) && minutes > 0)) throw new FieldError(`${label} must be a number of minutes > 0, or empty to train the epochs (got ${minutes})`, field);
  return minutes * 60;
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
