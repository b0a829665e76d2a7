// The page's build: app/ is the root, dist/app/ the output (served by `vit app`, or any static host).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const repo = fileURLToPath(new URL('..', import.meta.url));
const appRoot = fileURLToPath(new URL('.', import.meta.url));
const sampleDir = `${repo}data/cifar10-sample`;
/** The bundled CIFAR-10 sample, served at sample/NAME so that the page trains offline. */
const SAMPLE_FILES = ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt'];

/** Headers that make the page cross-origin isolated (SharedArrayBuffer, wasm threads). */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Serves data/cifar10-sample/ at /sample/ in development and writes it to dist/app/sample/ in a build. */
function cifar10Sample(): Plugin {
  return {
    name: 'vit-cifar10-sample',
    configureServer(server) {
      server.middlewares.use('/sample', (req, res, next) => {
        const name = (req.url ?? '').replace(/^\//, '').split('?')[0]!;
        if (!SAMPLE_FILES.includes(name)) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(readFileSync(`${sampleDir}/${name}`));
      });
    },
    generateBundle() {
      for (const name of SAMPLE_FILES) {
        this.emitFile({ type: 'asset', fileName: `sample/${name}`, source: readFileSync(`${sampleDir}/${name}`) });
      }
    },
  };
}

// The kernels are built by `npm run build:wasm` into dist/wasm/; the page imports them as URLs.
const kernels = `${repo}dist/wasm`;
if (!existsSync(`${kernels}/kernels.wasm`)) throw new Error(`${kernels}/kernels.wasm is missing: run \`npm run build:wasm\` first`);

const pages = ['index.html', 'bench.html'].filter((page) => existsSync(`${appRoot}${page}`));

export default defineConfig({
  root: appRoot,
  // Relative URLs, so that dist/app works from any folder of any static host.
  base: './',
  publicDir: `${appRoot}public`,
  resolve: { alias: { '@kernels': kernels } },
  plugins: [cifar10Sample()],
  worker: { format: 'es' },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  build: {
    outDir: `${repo}dist/app`,
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      input: Object.fromEntries(pages.map((page) => [page.replace('.html', ''), `${appRoot}${page}`])),
      // sharp is Node's image decoder, which src/images.ts imports on demand; the page decodes with the browser's own.
      external: ['sharp'],
      onLog(level, log, report) {
        // Modules under src/ import node: modules only dynamically, behind a runtime check that the page never passes.
        if (log.message.includes('externalized for browser compatibility') && log.message.includes(`imported by "${repo}src/`)) return;
        report(level, log);
      },
    },
  },
});
