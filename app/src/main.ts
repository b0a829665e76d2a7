// The page: the isolation notice, the error line, the tab bar and the four views.
import './locale-guard.js';
import './style.css';
import { createContext } from './context.js';
import { describeEngine } from './engine-line.js';
import { engineSupport } from '../../src/runtime/support.js';
import { createTabs } from './tabs.js';
import { mountTrain } from './train/index.js';
import { mountClassify, mountLookInside, mountModel } from './inspect/index.js';

const support = await engineSupport();
// Threads share one memory, which needs SharedArrayBuffer: a page has it only when cross-origin
// isolated, and WebKit not at all (its isolated pages included). Without it the kernels run on the
// page's worker alone, on a plain memory.
const isolated = support.sharedMemory;
const threads = isolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
const pageIsolated = globalThis.crossOriginIsolated === true;

const warning = document.querySelector<HTMLElement>('[data-testid="isolation-warning"]')!;
if (!pageIsolated) {
  warning.textContent =
    'This page is not cross-origin isolated, so training and inference run on one thread. ' +
    'Serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp ' +
    '(`npx vit-ts app` does) to use every core.';
  warning.hidden = false;
}
document.querySelector<HTMLElement>('[data-testid="engine"]')!.textContent = describeEngine(support, threads, pageIsolated);

const ctx = createContext({
  threads,
  isolated,
  errors: {
    line: document.querySelector<HTMLElement>('[data-testid="error"]')!,
    announcer: document.querySelector<HTMLElement>('[data-testid="error-announcer"]')!,
  },
});
// Errors nobody caught still reach the user as one line, not only the console.
addEventListener('unhandledrejection', (event) =>
  ctx.showError(String(event.reason instanceof Error ? event.reason.message : event.reason)),
);

createTabs(document.querySelector<HTMLElement>('#tabs')!, document.querySelector<HTMLElement>('#views')!, [
  { id: 'train', label: 'Train', mount: (panel) => mountTrain(panel, ctx) },
  { id: 'inside', label: 'Look inside', mount: (panel) => mountLookInside(panel, ctx) },
  { id: 'classify', label: 'Classify', mount: (panel) => mountClassify(panel, ctx) },
  { id: 'model', label: 'Model', mount: (panel) => mountModel(panel, ctx) },
]);
