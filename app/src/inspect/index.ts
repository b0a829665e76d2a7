// Placeholder mount points for the Look inside, Classify and Model views. The inspect views
// replace this whole file (same three exports); nothing else in app/src depends on its contents.
import type { AppContext } from '../context.js';

function placeholder(root: HTMLElement, what: string): void {
  root.textContent = `${what} is not built yet.`;
}

export function mountLookInside(root: HTMLElement, _ctx: AppContext): void {
  placeholder(root, 'Look inside');
}

export function mountClassify(root: HTMLElement, _ctx: AppContext): void {
  placeholder(root, 'Classify');
}

export function mountModel(root: HTMLElement, _ctx: AppContext): void {
  placeholder(root, 'Model');
}
