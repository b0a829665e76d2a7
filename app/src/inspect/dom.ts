// Small helpers for building the views' elements.

export interface ElementOptions {
  className?: string;
  text?: string;
  /** data-testid, for the tests. */
  testid?: string;
}

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, options: ElementOptions = {}): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  if (options.testid) node.dataset.testid = options.testid;
  return node;
}

/** A titled card section. */
export function card(title: string, ...content: Node[]): HTMLElement {
  const section = element('section', { className: 'card' });
  section.append(element('h2', { text: title }), ...content);
  return section;
}
