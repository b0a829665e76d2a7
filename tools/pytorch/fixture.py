#!/usr/bin/env python3
"""Writes the PyTorch fixtures vit-ts's tests compare against (test/fixtures/NAME/).

  python3 tools/pytorch/fixture.py --all                   # regenerate every fixture in test/fixtures
  python3 tools/pytorch/fixture.py --out DIR [--config JSON] [--batch N] [--seed S] [--perturb 0.1] [--hf] [--fused] [--kept K]

A fixture folder holds
  config.json             the model config (seed keys)
  weights.safetensors     the parameters, seed state_dict names, the config in the metadata
  reference.safetensors   input, labels, logits, loss (mean cross-entropy), attentions.{block}
                          (batch, heads, tokens, tokens), grad.{parameter} for every parameter, and
                          adamw_step1.{parameter}: the parameters after one torch.optim.AdamW step
                          (lr, betas, eps, weight decay in the metadata "adamw"); with --kept K also
                          kept_patches (batch, K) int64, each image's kept patch indices (increasing),
                          and kept.logits, kept.loss, kept.grad.{parameter} of a pass on [CLS] + those
                          patches (token dropping: position embeddings added first, then the rows gathered)
  fused.safetensors       (--fused) the same weights in FasterMultiHeadAttention's names, as PyTorch lays them out
  model.safetensors, hf_config.json   (--hf) the same weights as transformers' ViTForImageClassification

--perturb P adds N(0, P) noise to every parameter after initialization: at initialization every
bias is 0 and every LayerNorm gain 1, so a swapped bias or LayerNorm would go unseen.
"""
import argparse
import json
import os

import torch
from torch.nn import functional as F

import layouts
import safetensors_file
from vit_model import ViTForClassification, full_config

ADAMW = {"lr": 1e-2, "weight_decay": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8}
# Patches per image the fixtures marked "kept" keep in their token-dropping pass (of 16).
KEPT_PATCHES = 6

# test/fixtures: each folder's config overrides, batch size and extra layouts. Seed 0, --perturb 0.1 for all.
FIXTURES = {
    "seed": ({}, 2, []),
    "heads6-hs6-wide-init": ({"hidden_size": 36, "num_hidden_layers": 2, "num_attention_heads": 6, "intermediate_size": 72,
                              "initializer_range": 0.3, "image_size": 12}, 2, []),
    "hf-layout": ({"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "image_size": 16,
                   "final_layernorm": True, "hidden_act": "gelu", "layer_norm_eps": 1e-12}, 2, ["hf"]),
    "img16-h24-heads3": ({"hidden_size": 24, "num_hidden_layers": 1, "num_attention_heads": 3, "intermediate_size": 40,
                          "image_size": 16, "num_classes": 7}, 3, []),
    "patch2-gray-heads5": ({"patch_size": 2, "hidden_size": 20, "num_hidden_layers": 3, "num_attention_heads": 5,
                            "intermediate_size": 36, "image_size": 8, "num_classes": 5, "num_channels": 1}, 4, ["fused"]),
    "patch8-h32-nobias": ({"patch_size": 8, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                           "intermediate_size": 48, "qkv_bias": False}, 3, []),
    "patch-dropout": ({"patch_size": 2, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "intermediate_size": 24, "image_size": 8, "num_classes": 4}, 3, ["kept"]),
}


def forward_kept(model, pixels, kept_patches):
    """Logits of the model on [CLS] + each image's kept patches (kept_patches: (batch, K) patch indices)."""
    tokens = model.embedding(pixels)  # position embeddings are added to every token before the drop
    rows = torch.cat([torch.zeros_like(kept_patches[:, :1]), kept_patches + 1], dim=1)  # [CLS] is row 0
    tokens = torch.gather(tokens, 1, rows.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
    hidden, _ = model.encoder(tokens)
    if model.config["final_layernorm"]:
        hidden = model.layernorm(hidden)
    return model.classifier(hidden[:, 0])


def kept_reference(model, pixels, labels, kept):
    """kept_patches, kept.logits, kept.loss and kept.grad.* for a random `kept` patches of each image."""
    num_patches = model.embedding.patch_embeddings.num_patches
    kept_patches = torch.stack([torch.randperm(num_patches)[:kept].sort().values for _ in range(pixels.shape[0])])
    logits = forward_kept(model, pixels, kept_patches)
    loss = F.cross_entropy(logits, labels)
    names, parameters = zip(*model.named_parameters())
    grads = torch.autograd.grad(loss, parameters)  # leaves the full pass's .grad alone
    reference = {"kept_patches": kept_patches, "kept.logits": logits, "kept.loss": loss.reshape(1)}
    reference.update({f"kept.grad.{name}": g for name, g in zip(names, grads)})
    return reference


def write_fixture(out, overrides, batch, seed=0, perturb=0.0, hf=False, fused=False, kept=0):
    torch.manual_seed(seed)
    config = full_config(overrides)
    model = ViTForClassification(config)
    if perturb:
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter) * perturb)
    pixels = torch.randn(batch, config["num_channels"], config["image_size"], config["image_size"])
    labels = torch.randint(0, config["num_classes"], (batch,))
    os.makedirs(out, exist_ok=True)

    state = {name: t.clone() for name, t in model.state_dict().items()}
    config_text = json.dumps(config)
    safetensors_file.write(os.path.join(out, "weights.safetensors"), state, {"config": config_text})
    if fused:
        safetensors_file.write(os.path.join(out, "fused.safetensors"), layouts.per_head_to_fused(state, config), {"config": config_text})
    if hf:
        safetensors_file.write(os.path.join(out, "model.safetensors"), layouts.per_head_to_hf(state, config), {"format": "pt"})
        names = layouts.CIFAR10_LABELS if config["num_classes"] == 10 else [f"LABEL_{i}" for i in range(config["num_classes"])]
        with open(os.path.join(out, "hf_config.json"), "w") as f:
            json.dump(layouts.hf_config(config, names), f, indent=2)

    model.train()  # dropout is 0 in every fixture; train mode is what the gradients are for
    logits, all_probs = model(pixels)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    reference = {"input": pixels, "labels": labels, "logits": logits, "loss": loss.reshape(1)}
    reference.update({f"attentions.{block}": probs for block, probs in enumerate(all_probs)})
    reference.update({f"grad.{name}": p.grad.clone() for name, p in model.named_parameters()})
    if kept:
        reference.update(kept_reference(model, pixels, labels, kept))
    optimizer = torch.optim.AdamW(model.parameters(), lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]), eps=ADAMW["eps"],
                                  weight_decay=ADAMW["weight_decay"])
    optimizer.step()
    reference.update({f"adamw_step1.{name}": p.detach().clone() for name, p in model.named_parameters()})
    safetensors_file.write(os.path.join(out, "reference.safetensors"), reference,
                           {"config": config_text, "adamw": json.dumps(ADAMW), "loss": "cross_entropy mean",
                            "torch": torch.__version__, "seed": seed, "perturb": perturb})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    print(f"{out}: loss {loss.item():.6f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="regenerate every folder of test/fixtures")
    parser.add_argument("--out", help="the fixture folder to write")
    parser.add_argument("--config", default="{}", help="JSON overrides of the seed config")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perturb", type=float, default=0.0, help="add N(0, PERTURB) to every parameter after initialization")
    parser.add_argument("--hf", action="store_true", help="also write model.safetensors + hf_config.json (needs final_layernorm)")
    parser.add_argument("--fused", action="store_true", help="also write fused.safetensors (one qkv_projection per block)")
    parser.add_argument("--kept", type=int, default=0, help="also write a token-dropping pass keeping KEPT patches per image")
    args = parser.parse_args()
    if args.all:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures")
        for name, (overrides, batch, extra) in FIXTURES.items():
            write_fixture(os.path.join(root, name), overrides, batch, perturb=0.1, hf="hf" in extra, fused="fused" in extra,
                          kept=KEPT_PATCHES if "kept" in extra else 0)
    elif args.out:
        write_fixture(args.out, json.loads(args.config), args.batch, args.seed, args.perturb, args.hf, args.fused, args.kept)
    else:
        parser.error("give --all or --out DIR")


if __name__ == "__main__":
    main()
