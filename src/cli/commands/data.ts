// `vit data cifar10`: downloads CIFAR-10 to where training looks for it; and the rule, shared by
// `vit train` and `vit eval`, that picks the data folder from --data, --sample or that default place.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CIFAR10_ARCHIVE, downloadCifar10, holdsCifar10 } from '../../data/download.js';
import { defaultDataDir, sampleDataDir } from '../../data/location.js';
import { UserError } from '../../errors.js';

interface DataFlags {
  dir?: string;
}

export function register(program: Command): void {
  const data = program.command('data').description('get data sets');
  data
    .command('cifar10')
    .description(`download CIFAR-10 (${Math.round(CIFAR10_ARCHIVE.bytes / 1e6)} MB, checked by SHA-256) and extract its binary files`)
    .option('--dir <dir>', `where to put the .bin files (default: ${defaultDataDir()})`)
    .action(async (flags: DataFlags) => {
      await downloadCommand(flags);
    });
}

async function downloadCommand(flags: DataFlags): Promise<void> {
  const dir = resolve(flags.dir ?? defaultDataDir());
  if (holdsCifar10(dir)) {
    process.stdout.write(`CIFAR-10 is already in ${dir}\n`);
    return;
  }
  process.stdout.write(`Downloading CIFAR-10 from ${CIFAR10_ARCHIVE.url}\n`);
  const onProgress = process.stderr.isTTY ? barProgress() : plainProgress();
  try {
    await downloadCifar10({ dir, onProgress: onProgress.update });
  } finally {
    onProgress.stop();
  }
  const where = flags.dir === undefined ? '' : ` (pass --data ${dir} to vit train and vit eval)`;
  process.stdout.write(`CIFAR-10 is in ${dir}${where}\n`);
}

interface DownloadProgress {
  update: (received: number, total: number) => void;
  stop: () => void;
}

function barProgress(): DownloadProgress {
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {received}/{size} MB | {speed} MB/s | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  let begun = false;
  return {
    update(received, total) {
      const payload = {
        received: (received / 1e6).toFixed(1),
        size: (total / 1e6).toFixed(1),
        speed: (received / 1e6 / Math.max((performance.now() - started) / 1000, 1e-3)).toFixed(1),
      };
      if (!begun) {
        bar.start(total, received, payload);
        begun = true;
      } else {
        bar.update(received, payload);
      }
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}

/** Without a terminal: a line at every tenth of the download. */
function plainProgress(): DownloadProgress {
  let shown = 0;
  return {
    update(received, total) {
      const tenth = Math.floor((received / total) * 10);
      if (tenth > shown) {
        shown = tenth;
        process.stdout.write(`${tenth * 10}% (${(received / 1e6).toFixed(1)} MB)\n`);
      }
    },
    stop() {},
  };
}

export interface DataFolderFlags {
  data?: string;
  sample?: boolean;
}

/**
 * The CIFAR-10 folder a command reads: --sample's bundled sample, --data's folder, or the folder
 * `vit data cifar10` fills when it holds the data. Returns undefined only when `optional` (a resumed
 * run knows its own folder).
 */
export function dataFolder(flags: DataFolderFlags, optional = false): string | undefined {
  if (flags.sample && flags.data !== undefined) throw new UserError('give either --data DIR or --sample, not both');
  if (flags.sample) return sampleDataDir();
  if (flags.data !== undefined) return resolve(flags.data);
  if (optional) return undefined;
  const dir = defaultDataDir();
  if (holdsCifar10(dir)) return dir;
  throw new UserError(
    `No CIFAR-10 data in ${dir}. Run 'vit data cifar10' to download it there ` +
      `(${Math.round(CIFAR10_ARCHIVE.bytes / 1e6)} MB), pass --data DIR to point at a copy of cifar-10-batches-bin, ` +
      'or use --sample to work on the small sample bundled with vit-ts.',
  );
}
