// The Train view (being built; see app/src/train/).
import type { AppContext } from '../context.js';

export function mountTrain(root: HTMLElement, _ctx: AppContext): void {
  root.textContent = 'Train';
}
