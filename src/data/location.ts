import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Name of the folder inside the official archive, and of our copy in the cache. */
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';

/**
 * The user's cache folder for vit-ts: $VIT_CACHE_DIR if set; else %LOCALAPPDATA%\vit-ts on
 * Windows; else $XDG_CACHE_HOME/vit-ts or ~/.cache/vit-ts. `env` and `platform` are
 * parameters so tests can check each rule.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env['VIT_CACHE_DIR']) return env['VIT_CACHE_DIR'];
  if (platform === 'win32') {
    const local = env['LOCALAPPDATA'] || win32.join(homedir(), 'AppData', 'Local');
    return win32.join(local, 'vit-ts');
  }
  // The XDG spec says to ignore a relative XDG_CACHE_HOME
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  return join(base, 'vit-ts');
}

/** Where `vit data cifar10` puts CIFAR-10 and where training looks for it by default. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const cache = cacheDir(env, platform);
  return platform === 'win32' ? win32.join(cache, CIFAR10_FOLDER) : join(cache, CIFAR10_FOLDER);
}

/**
 * The vit-ts package root: the nearest folder above this module holding vit-ts's package.json.
 * Walking up (rather than a fixed "../../..") keeps working whether this runs from src/ or dist/src/.
 */
export function packageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readPackageName(manifest) === 'vit-ts') return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the vit-ts package.json above ${start}`);
  }
}

function readPackageName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string') {
      return parsed.name;
    }
  } catch {
    // an unreadable package.json is not ours; keep walking up
  }
  return undefined;
}

/** The small CIFAR-10 sample shipped in the package (2,000 train and 500 test images). */
export function sampleDataDir(): string {
  return join(packageRoot(), 'data', 'cifar10-sample');
}
