// The static server behind `vit app` (and the browser tests): the built page from a folder, with
// the headers that make it cross-origin isolated so SharedArrayBuffer and wasm threads work.
// Node-only; the page itself never imports this.
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import sirv from 'sirv';
import { UserError } from '../errors.js';

/**
 * The headers that make a page cross-origin isolated. Cross-Origin-Resource-Policy lets our own
 * files load under require-corp and keeps other origins from embedding them.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

export interface ServeOptions {
  /** The folder to serve (its index.html is the page). */
  readonly root: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1: only this machine can reach the page. */
  readonly host?: string;
  /** Send the isolation headers (default true); false serves the page as a plain static host would. */
  readonly isolated?: boolean;
}

export interface RunningServer {
  /** http://host:port/, with this machine's loopback address for a wildcard host. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `root` until close(). Throws a UserError when the folder is not a built app or the port cannot be had. */
export async function serveFolder(options: ServeOptions): Promise<RunningServer> {
  const root = resolve(options.root);
  if (!existsSync(join(root, 'index.html'))) {
    throw new UserError(`${root} holds no built app (no index.html): run \`npm run build:app\``);
  }
  const host = options.host ?? '127.0.0.1';
  const isolated = options.isolated ?? true;
  // Not dev mode: sirv lists the folder once at start and serves only the files it found there, so
  // no request path (../, encoded dots) reaches outside root, and folders are never listed.
  const files = sirv(root, { dev: false, etag: true, dotfiles: false });
  const server = createServer((request, response) => handle(request, response, files, isolated));
  await listen(server, options.port ?? 0, host);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return {
    url: `http://${browsableHost(host)}:${address.port}/`,
    port: address.port,
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      }),
  };
}

/** How this machine's browser reaches a server on `host`: a wildcard address listens on loopback too. */
function browsableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Whether `host` is reachable from this machine only. Browsers grant cross-origin isolation to
 * secure contexts alone, and plain http is one only on loopback.
 */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

type FileHandler = ReturnType<typeof sirv>;

function handle(request: IncomingMessage, response: ServerResponse, files: FileHandler, isolated: boolean): void {
  if (isolated) {
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) response.setHeader(name, value);
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('method not allowed\n');
    return;
  }
  files(request, response, () => {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('not found\n');
  });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((done, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) => fail(listenError(error, port, host)));
    server.listen(port, host, () => done());
  });
}

/** The reasons a user can fix, as one line each; anything else stays a bug. */
function listenError(error: NodeJS.ErrnoException, port: number, host: string): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new UserError(`port ${port} on ${host} is already in use: choose another with --port`);
    case 'EACCES':
      return new UserError(`not allowed to listen on port ${port} on ${host}: choose a port above 1023 with --port`);
    case 'EADDRNOTAVAIL':
      return new UserError(`--host ${host} is not an address of this machine`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UserError(`--host ${host} is not a known host name`);
    default:
      return error;
  }
}
