// `vit export`: a model's weights for other runtimes: ONNX, a Hugging Face folder, or safetensors in another layout.
import { type Command, Option } from 'commander';
import { classLabels } from '../../api.js';
import { UserError } from '../../errors.js';
import { ONNX_OPSET, exportOnnx } from '../../export/onnx.js';
import { checkOutputFile, writeFileAtomic } from '../../io/atomic.js';
import { loadCheckpoint, saveCheckpoint } from '../../weights/files.js';
import { modelOption } from '../options.js';

interface ExportOptions {
  model: string;
  onnx?: string;
  hf?: string;
  safetensors?: string;
  layout: 'seed' | 'fused';
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write a model as ONNX, as a Hugging Face model folder, or as safetensors in another layout')
    .addOption(modelOption())
    .addOption(
      new Option('--onnx <file>', 'write an ONNX model (opset 17): input pixel_values [batch, channels, size, size], output logits'),
    )
    .addOption(
      new Option(
        '--hf <dir>',
        "write a folder transformers' ViTForImageClassification loads (config.json, model.safetensors, preprocessor_config.json)",
      ),
    )
    .addOption(new Option('--safetensors <file>', 'write one .safetensors file, its config in the metadata'))
    .addOption(
      new Option('--layout <layout>', "the tensor names of --safetensors: the seed's (per-head q/k/v) or fused (one qkv per block)")
        .choices(['seed', 'fused'])
        .default('seed'),
    )
    .action(async (options: ExportOptions, command: Command) => {
      await exportModel(options, command.getOptionValueSource('layout') === 'cli');
    });
}

async function exportModel(options: ExportOptions, layoutGiven: boolean): Promise<void> {
  const targets = [options.onnx, options.hf, options.safetensors].filter((t) => t !== undefined);
  if (targets.length !== 1) throw new UserError('give exactly one of --onnx FILE, --hf DIR or --safetensors FILE');
  if (layoutGiven && options.safetensors === undefined) throw new UserError('--layout goes with --safetensors');
  if (options.safetensors !== undefined && !options.safetensors.endsWith('.safetensors')) {
    throw new UserError(`--safetensors ${options.safetensors}: the file name must end in .safetensors`);
  }
  if (options.onnx !== undefined) checkOutputFile(options.onnx, '--onnx');
  if (options.safetensors !== undefined) checkOutputFile(options.safetensors, '--safetensors');

  const { config, params, files } = loadCheckpoint(options.model);
  if (options.onnx !== undefined) {
    const bytes = exportOnnx(params, config);
    writeFileAtomic(options.onnx, bytes);
    process.stdout.write(`wrote ${options.onnx} (ONNX opset ${ONNX_OPSET}, ${megabytes(bytes.length)})\n`);
  } else if (options.hf !== undefined) {
    if (!config.final_layernorm) {
      throw new UserError(
        `--hf ${options.hf}: ${options.model} has no final LayerNorm (final_layernorm false, as the seed's model), ` +
          "and Hugging Face's ViTForImageClassification always applies one, so no Hugging Face model computes what this one does; " +
          "use --safetensors FILE (the seed's PyTorch names, which the seed's modules in the vit-ts repository's tools/pytorch load) or --onnx FILE",
      );
    }
    // Name the classes and keep the normalization, so that transformers' pipeline reads images and labels as vit-ts does.
    const labels = await classLabels(config);
    const seedNormalization = new Array<number>(config.num_channels).fill(0.5);
    const preprocessor = files.preprocessor ?? { mean: seedNormalization, std: seedNormalization };
    saveCheckpoint(options.hf, { ...config, labels }, params, { layout: 'hf', preprocessor });
    process.stdout.write(`wrote ${options.hf} (Hugging Face ViTForImageClassification)\n`);
  } else {
    const path = options.safetensors!;
    saveCheckpoint(path, config, params, { layout: options.layout });
    process.stdout.write(`wrote ${path} (${options.layout} layout)\n`);
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
