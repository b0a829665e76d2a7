// Chromium started with LANG=C (headless, minimal Linux) reports navigator.language as
// "en-US@posix", a tag Intl rejects; uPlot builds an Intl.NumberFormat from it when it loads and
// would stop the page. Imported first by main.ts, before anything that loads uPlot.
try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, 'language', { value: 'en-US', configurable: true });
}

export {};
