#!/usr/bin/env python3
"""The PyTorch peer that `npm run bench` measures vit-ts against (src/bench/peers.ts runs it).

  python3 tools/pytorch/peer.py bench [--threads N] [--batch B[,B...]] [--steps S] [--fused] [--config JSON]
                                     [--device cpu|cuda] [--compile [--compile-mode MODE]]
      training and inference images/s of the seed's model on random data: one JSON line per batch size
      (--device cuda: on the GPU, timed between synchronizations; --compile: the model through torch.compile)
  python3 tools/pytorch/peer.py onnx --out FILE [--config JSON] [--weights W.safetensors]
      the model exported by PyTorch to ONNX (dynamic batch), to time ONNX Runtime
  python3 tools/pytorch/peer.py train --data DIR [--epochs N] [--batch B] [--lr LR] [--threads N] [--save W.safetensors]
      the seed's recipe on CIFAR-10's binary files, one JSON line per epoch

Needs Debian's PyTorch: apt-get install -y python3-torch libopenblas0-pthread (OpenBLAS with threads).
PyTorch is fastest here on 1 thread with --fused; compare against its best.
"""
import argparse
import json
import time

import torch
from torch import nn
from torch.nn import functional as F

import cifar10
import layouts
import safetensors_file
from vit_model import ViTForClassification, full_config


def images_per_second(step, batch, steps, warmup, sync=lambda: None):
    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()  # the GPU runs behind the host: the clock stops when its work is done
    return batch * steps / (time.perf_counter() - start)


def bench(args):
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("peer.py bench: --device cuda, but this PyTorch sees no CUDA GPU")
    if args.compile and not hasattr(torch, "compile"):
        raise SystemExit(f"peer.py bench: --compile needs torch.compile (PyTorch 2), this is {torch.__version__}")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    config = full_config({**json.loads(args.config), "use_faster_attention": args.fused})
    for batch in (int(b) for b in args.batch.split(",")):
        torch.manual_seed(0)
        model = ViTForClassification(config).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
        if args.compile:
            torch._dynamo.reset()  # each batch size compiled afresh, static shapes, as a run at that size alone would be
        run = torch.compile(model, mode=args.compile_mode, dynamic=False) if args.compile else model
        x = torch.randn(batch, config["num_channels"], config["image_size"], config["image_size"], device=device)
        y = torch.randint(0, config["num_classes"], (batch,), device=device)

        def train_step():
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(run(x)[0], y).backward()
            optimizer.step()

        def infer_step():
            run(x)

        model.train()
        compile_start = time.perf_counter()
        if args.compile:  # compiling happens in the first calls: keep it out of the warm-up's count
            train_step()
            sync()
        train_compile_s = time.perf_counter() - compile_start
        train = images_per_second(train_step, batch, args.steps, args.warmup, sync)
        model.eval()
        with torch.no_grad():
            compile_start = time.perf_counter()
            if args.compile:
                infer_step()
                sync()
            infer_compile_s = time.perf_counter() - compile_start
            infer = images_per_second(infer_step, batch, args.steps, args.warmup, sync)
        line = {"peer": "pytorch", "torch": torch.__version__, "threads": args.threads, "fused": args.fused,
                "batch": batch, "params": sum(p.numel() for p in model.parameters()),
                "train_img_s": round(train, 1), "infer_img_s": round(infer, 1)}
        if device.type == "cuda":
            line.update(device=torch.cuda.get_device_name(device), steps=args.steps,
                        tf32=torch.backends.cuda.matmul.allow_tf32)
        if args.compile:
            line.update(compile=args.compile_mode, compile_s=round(train_compile_s + infer_compile_s, 1))
        print(json.dumps(line), flush=True)


class LogitsOnly(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values)[0]


def export_onnx(args):
    overrides = json.loads(args.config)
    state = None
    if args.weights:
        state, metadata = safetensors_file.read(args.weights)
        overrides = {**overrides, **json.loads(metadata.get("config", "{}"))}
    config = full_config({**overrides, "use_faster_attention": True})
    model = ViTForClassification(config).eval()
    if state is not None:
        if any(".heads." in name for name in state):
            state = layouts.per_head_to_fused(state, config)
        model.load_state_dict(state)
    example = torch.randn(1, config["num_channels"], config["image_size"], config["image_size"])
    torch.onnx.export(LogitsOnly(model), example, args.out, input_names=["pixel_values"], output_names=["logits"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}}, opset_version=14)
    print(f"wrote {args.out}")


def evaluate(model, images, labels, chunk=1000):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(labels), chunk):
            logits = model(cifar10.normalize(images[i:i + chunk]))[0]
            loss += F.cross_entropy(logits, labels[i:i + chunk], reduction="sum").item()
            correct += (logits.argmax(1) == labels[i:i + chunk]).sum().item()
    return loss / len(labels), correct / len(labels)


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    config = full_config({**json.loads(args.config), "use_faster_attention": True})
    train_x, train_y = cifar10.load(args.data, "train")
    test_x, test_y = cifar10.load(args.data, "test")
    model = ViTForClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train_y), generator=generator)
        total = 0.0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(cifar10.augment(cifar10.normalize(train_x[idx]), generator))[0], train_y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        test_loss, test_acc = evaluate(model, test_x, test_y)
        # `vit plot LOG.jsonl` reads these lines (src/io/pytorch-log.ts): keep epoch, test_acc and elapsed_s.
        print(json.dumps({"epoch": epoch, "train_loss": round(total / len(train_y), 4), "test_loss": round(test_loss, 4),
                          "test_acc": test_acc, "elapsed_s": round(time.perf_counter() - start, 1)}), flush=True)
        if args.save:
            saved = {k: v for k, v in config.items() if k != "use_faster_attention"}
            safetensors_file.write(args.save, model.state_dict(), {"config": json.dumps(saved), "epoch": epoch})


def batch_list(text):
    """'256' or '128,256': positive whole numbers."""
    parts = text.split(",")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"--batch must be positive whole numbers, comma-separated (got {text!r})")
    return ",".join(p.strip() for p in parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="training and inference images/s on random data")
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--batch", default="256", type=batch_list, help="images per step; several, comma-separated, give one line each")
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--fused", action="store_true", help="FasterMultiHeadAttention (one qkv_projection) instead of per-head Linears")
    b.add_argument("--config", default="{}", help="JSON overrides of the seed config")
    b.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to run (cuda: the first GPU)")
    b.add_argument("--compile", action="store_true", help="run the model through torch.compile (PyTorch 2)")
    b.add_argument("--compile-mode", default="default", choices=["default", "reduce-overhead", "max-autotune"],
                   help="torch.compile's mode (reduce-overhead: CUDA graphs)")
    o = sub.add_parser("onnx", help="export the model to ONNX with PyTorch")
    o.add_argument("--out", required=True)
    o.add_argument("--config", default="{}")
    o.add_argument("--weights", help="a .safetensors model (seed or fused names, config in the metadata); default: fresh init")
    t = sub.add_parser("train", help="the seed's recipe on CIFAR-10")
    t.add_argument("--data", required=True, help="folder with data_batch_{1..5}.bin and test_batch.bin")
    t.add_argument("--epochs", type=int, default=100)
    t.add_argument("--batch", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-2)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--config", default="{}")
    t.add_argument("--save", help="write the weights (fused names) here after every epoch")
    args = parser.parse_args()
    {"bench": bench, "onnx": export_onnx, "train": train}[args.command](args)


if __name__ == "__main__":
    main()
