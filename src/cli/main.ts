#!/usr/bin/env node
// The `vit` command. A UserError (bad input), or a file-system error a user can fix (no space, no
// permission, a wrong path), prints `vit: <message>` and exits 1; anything else is a bug, printed
// with its stack, exit 2.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { packageRoot } from '../data/location.js';
import { UserError } from '../errors.js';
import { fileSystemError } from '../io/user-files.js';
import { register as registerData } from './commands/data.js';
import { register as registerTrain } from './commands/train.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerPredict } from './commands/predict.js';
import { register as registerAttention } from './commands/attention.js';
import { register as registerPlot } from './commands/plot.js';
import { register as registerExport } from './commands/export.js';
import { register as registerApp } from './commands/app.js';
import { register as registerBench } from './commands/bench.js';

function version(): string {
  const manifest: unknown = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8'));
  const v = (manifest as { version?: unknown }).version;
  return typeof v === 'string' ? v : 'unknown';
}

function buildProgram(): Command {
  const program = new Command('vit')
    .description('A Vision Transformer from scratch on WebAssembly SIMD: train on CIFAR-10, look inside, run anywhere.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    // Commander's own usage errors read like ours, on one line (its suggestion joined on, where to
    // find the usage after); commands created below inherit this.
    .configureOutput({ outputError: (message, write) => write(oneLineUsageError(message)) });
  // In the order of a workflow: get data, train, evaluate, use, look inside, plot, ship; all of it in
  // the page; then measure.
  registerData(program);
  registerTrain(program);
  registerEval(program);
  registerPredict(program);
  registerAttention(program);
  registerPlot(program);
  registerExport(program);
  registerApp(program);
  registerBench(program);
  return program;
}

/** "error: unknown command 'x'\n(Did you mean y?)\n" → "vit: unknown command 'x'; did you mean y? (add --help for usage)\n". */
function oneLineUsageError(message: string): string {
  const [first = '', ...rest] = message
    .replace(/^error: /, 'vit: ')
    .trim()
    .split('\n');
  const hints = rest.map((line) => line.trim().replace(/^\((.*)\)$/, '$1')).filter((line) => line !== '');
  const suggestion = hints.map((hint) => `; ${hint.charAt(0).toLowerCase()}${hint.slice(1)}`).join('');
  return `${first}${suggestion} (add --help for usage)\n`;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const userError = error instanceof UserError ? error : fileSystemError(error);
    if (userError) {
      process.stderr.write(`vit: ${userError.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(
      `vit: internal error, please report it:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 2;
  }
}

await main(process.argv);
