#!/usr/bin/env python3
"""Continue in PyTorch: load a model trained by vit-ts into the seed's PyTorch modules and check
that PyTorch computes the logits vit-ts computes.

  python3 tools/pytorch/continue_in_pytorch.py MODEL [--images 8] [--rtol 1e-5]

MODEL is a model file vit-ts wrote (model_final.safetensors: the seed's state_dict names, the
config in the metadata) or an experiment folder holding one. The script
  1. builds vit_model.ViTForClassification from the config and load_state_dict()s the file (strict);
  2. runs random images through it, and through vit-ts (node tools/pytorch/vit-logits.mjs; needs
     `npm run build`), and compares the logits: the largest difference must be within rtol of the
     largest logit;
  3. when the model has a final LayerNorm (final_layernorm: true, as Hugging Face's ViT has), also
     loads it into transformers' ViTForImageClassification and compares its logits, if transformers
     is installed (it says so and skips otherwise). A model without a final LayerNorm (the seed's)
     has no exact ViTForImageClassification equivalent: keep the seed's modules.

Exit status 0 when every comparison passed, 1 otherwise. To go on training on many GPUs, see
train_ddp.py (torchrun), which starts from the same file.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch

import layouts
import safetensors_file
from vit_model import ViTForClassification, full_config

HERE = os.path.dirname(os.path.abspath(__file__))


def model_file(path):
    """The .safetensors file of MODEL: the path itself, or an experiment folder's model_final.safetensors."""
    if os.path.isdir(path):
        path = os.path.join(path, "model_final.safetensors")
    if not os.path.isfile(path):
        sys.exit(f"{path}: no such model file (give model_final.safetensors or the experiment folder holding it)")
    return path


def load_vit_ts_model(path):
    """(seed PyTorch model with the file's weights, its config). Reads seed or fused names."""
    state, metadata = safetensors_file.read(path)
    if "config" not in metadata:
        sys.exit(f"{path}: no config in the file's metadata; is it a model file vit-ts wrote?")
    config = full_config(json.loads(metadata["config"]))
    if any(".attention.qkv_projection." in name for name in state):
        state = layouts.fused_to_per_head(state, config)
    model = ViTForClassification(config)
    model.load_state_dict(state)  # strict: a missing or unexpected name is an error
    return model.eval(), config, state


def vit_ts_logits(path, pixels):
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = os.path.join(tmp, "input.safetensors"), os.path.join(tmp, "logits.safetensors")
        safetensors_file.write(inputs, {"input": pixels})
        subprocess.run(["node", os.path.join(HERE, "vit-logits.mjs"), path, inputs, outputs], check=True)
        return safetensors_file.read(outputs)[0]["logits"]


def compare(what, got, expected, rtol):
    worst = (got - expected).abs().max().item()
    scale = expected.abs().max().item()
    ok = worst <= rtol * scale
    print(f"{what}: largest difference {worst:.3e}, {worst / scale:.2e} of the largest logit ({scale:.3f}): {'OK' if ok else 'MISMATCH'}")
    return ok


def huggingface_logits(config, state, pixels):
    """ViTForImageClassification's logits for the model, or None (with the reason printed) when it cannot be built."""
    if not config["final_layernorm"]:
        print("Hugging Face: skipped: this model has no final LayerNorm, and ViTForImageClassification always applies one, "
              "so it cannot hold this model exactly; use vit_model.ViTForClassification (as above)")
        return None
    try:
        import transformers
    except ImportError:
        print("Hugging Face: skipped: transformers is not installed (pip install transformers)")
        return None
    labels = config.get("labels") or [f"LABEL_{i}" for i in range(config["num_classes"])]
    hf = transformers.ViTForImageClassification(transformers.ViTConfig(**layouts.hf_config(config, labels))).eval()
    missing, unexpected = hf.load_state_dict(layouts.per_head_to_hf(state, config), strict=False)
    missing = [name for name in missing if not name.startswith("vit.pooler.")]
    if missing or unexpected:
        sys.exit(f"Hugging Face: names do not match: missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        return hf(pixel_values=pixels).logits


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="model_final.safetensors, or the experiment folder holding it")
    parser.add_argument("--images", type=int, default=8, help="random images to compare on")
    parser.add_argument("--rtol", type=float, default=1e-5, help="allowed difference, relative to the largest logit")
    args = parser.parse_args()

    path = model_file(args.model)
    model, config, state = load_vit_ts_model(path)
    print(f"{path}: loaded into the seed's PyTorch modules ({sum(p.numel() for p in model.parameters())} parameters)")
    torch.manual_seed(0)
    pixels = torch.randn(args.images, config["num_channels"], config["image_size"], config["image_size"])
    with torch.no_grad():
        torch_logits = model(pixels)[0]
    expected = vit_ts_logits(path, pixels)
    ok = compare("PyTorch (seed modules) vs vit-ts", torch_logits, expected, args.rtol)
    hf = huggingface_logits(config, state, pixels)
    if hf is not None:
        ok = compare("Hugging Face ViTForImageClassification vs vit-ts", hf, expected, args.rtol) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
