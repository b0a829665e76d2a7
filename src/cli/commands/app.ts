// `vit app`: serves the page that ships inside the package (dist/app), cross-origin isolated.
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import open from 'open';
import { isLoopback, serveFolder } from '../../app/serve.js';
import { packageRoot } from '../../data/location.js';
import { parseDecimal } from '../../decimal.js';
import { UserError } from '../../errors.js';

interface AppFlags {
  port: number;
  host: string;
  open?: boolean;
}

/** The built page inside the installed package, wherever the command is run from. */
export function appDir(): string {
  return join(packageRoot(), 'dist', 'app');
}

export function register(program: Command): void {
  program
    .command('app')
    .description('serve the web page (train, look inside, classify) on this machine, cross-origin isolated for wasm threads')
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').default(8080).argParser(portNumber))
    .option(
      '--host <address>',
      'address to listen on (0.0.0.0 lets other machines in, on one thread: see the notice it prints)',
      '127.0.0.1',
    )
    .option('--open', 'open the page in the default browser')
    .action(async (flags: AppFlags) => {
      const server = await serveFolder({ root: appDir(), port: flags.port, host: flags.host });
      process.stdout.write(`vit app: serving the page at ${server.url} (Ctrl+C to stop)\n`);
      if (!isLoopback(flags.host)) {
        process.stdout.write(
          `vit app: at an address other than loopback the page comes over plain http, which browsers do not ` +
            `cross-origin isolate: there it runs on one thread (HTTPS in front of it gives all cores)\n`,
        );
      }
      if (flags.open) await openBrowser(server.url);
      await untilInterrupted();
      await server.close();
    });
}

function portNumber(value: string): number {
  const n = parseDecimal(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UserError(`--port must be a whole number from 0 to 65535 (got "${value}")`);
  }
  return n;
}

/** A machine without a browser (a server, CI) still serves: the URL above is the way in. */
async function openBrowser(url: string): Promise<void> {
  try {
    const child = await open(url);
    child.once('error', (error) => process.stderr.write(`vit app: could not open a browser (${error.message}); open ${url} yourself\n`));
  } catch (error) {
    process.stderr.write(
      `vit app: could not open a browser (${error instanceof Error ? error.message : String(error)}); open ${url} yourself\n`,
    );
  }
}

function untilInterrupted(): Promise<void> {
  return new Promise((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
}
