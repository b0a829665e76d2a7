/**
 * Option parsers and options shared by the `vit` commands. Parsers throw UserError naming the
 * flag, so a bad value prints `vit: <message>` like every other input error.
 */
import { Option } from 'commander';
import { quoteValue } from '../arguments.js';
import { UserError } from '../errors.js';
import { parseDecimal } from '../decimal.js';
import { readUserFile } from '../io/user-files.js';
import { type Backend, type Engine, getEngine } from '../runtime/engine.js';
import { SETTINGS } from '../train/settings.js';
import type { ViTConfig } from '../model/config.js';

/** A parser for a whole number ≥ 1, for commander's argParser; `flag` names the option in errors. */
export function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = parseDecimal(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 1)
      throw new UserError(`${flag} must be a positive whole number (got "${value}")`);
    return n;
  };
}

/** A parser for a whole number ≥ 0 (seeds, indices). */
export function nonNegativeInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = parseDecimal(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new UserError(`${flag} must be a whole number ≥ 0 (got "${value}")`);
    return n;
  };
}

/** `--model PATH`, required: what loadCheckpoint accepts. */
export function modelOption(): Option {
  return new Option(
    '--model <path>',
    'the model: a .safetensors file, an experiment folder or a Hugging Face model folder',
  ).makeOptionMandatory();
}

/** `--threads N`: threads running the kernels; read it with engineFor(). */
export function threadsOption(): Option {
  return new Option('--threads <n>', 'threads running the kernels (default: $VIT_THREADS, else the number of cores)').argParser(
    positiveInteger('--threads'),
  );
}

/** `--backend wasm|webgpu|auto`: where the kernels run (vit train's setting of the same name); read it with engineFor(). */
export function backendOption(): Option {
  const { flag, placeholder, help, choices } = SETTINGS.backend;
  return new Option(`${flag} ${placeholder}`, help).choices(choices!);
}

/**
 * The program's engine on --backend with the thread count from --threads; `auto` says on stderr
 * which it picked. Call it before anything else asks for the engine: getEngine's options apply
 * only to its first call.
 */
export function engineFor(threads: number | undefined, backend: Backend | undefined): Promise<Engine> {
  return getEngine({
    ...(threads === undefined ? {} : { threads }),
    ...(backend === undefined ? {} : { backend }),
    onChoice: (line) => process.stderr.write(`${line}\n`),
  });
}

/** --config: JSON text, or the path of a JSON file (a seed config or an experiment's config.json). */
export function readConfigFlag(value: string): Partial<ViTConfig> {
  // JSON text starts with an object's or an array's bracket (an array is then refused as not an object).
  const inline = /^\s*[[{]/.test(value);
  let text = value;
  if (!inline) {
    try {
      text = readUserFile(value).toString('utf8');
    } catch (e) {
      throw e instanceof UserError ? new UserError(`--config: ${e.message}`) : e;
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`--config ${inline ? '' : value + ' '}is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`--config must be a JSON object of config keys (got ${Array.isArray(json) ? 'an array' : quoteValue(json)})`);
  }
  return json as Partial<ViTConfig>;
}
