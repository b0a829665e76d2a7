#!/usr/bin/env python3
"""Go on training a vit-ts model in PyTorch with DistributedDataParallel, on as many GPUs (or CPU
processes) as torchrun starts, then hand it back to vit-ts.

  torchrun --nproc_per_node=8 tools/pytorch/train_ddp.py --model experiments/seed \\
      --data ~/.cache/vit-ts/cifar-10-batches-bin --epochs 20 --lr 1e-3 --save continued.safetensors
  vit eval --model continued.safetensors          # back in vit-ts

Debian's PyTorch 1.13 has no torchrun, and its launcher (python3 -m torch.distributed.run) fails on
Python 3.11; start the processes yourself, as torchrun would, e.g. two on one machine's CPUs:
  export MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 WORLD_SIZE=2
  for r in 0 1; do RANK=$r LOCAL_RANK=$r python3 tools/pytorch/train_ddp.py --model ... & done; wait

Every process loads the model file (model_final.safetensors or its experiment folder) into the
seed's modules, wraps it in DistributedDataParallel (NCCL on GPUs, Gloo on CPUs) and trains on its
share of each epoch's shuffled order; DDP averages the gradients, so all copies stay equal. The
global batch is --batch, split between the processes. The recipe: AdamW (weight decay 1e-2), the
learning rate decaying from --lr to 1e-5 on a cosine, gradients clipped to norm 1, the seed's
augmentation (random resized crop and flip). Process 0 evaluates on the test set after each epoch
(one JSON line) and writes --save: the seed's names and the config in the metadata, as vit-ts writes.
"""
import argparse
import json
import math
import os
import time

import torch
import torch.distributed as dist
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

import cifar10
import safetensors_file
from continue_in_pytorch import load_vit_ts_model, model_file


def subset(images, labels, count, generator):
    if count is None or count >= len(labels):
        return images, labels
    keep = torch.randperm(len(labels), generator=generator)[:count]
    return images[keep], labels[keep]


def evaluate(model, images, labels, device, chunk=1000):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(labels), chunk):
            logits = model(cifar10.normalize(images[i:i + chunk]).to(device))[0]
            target = labels[i:i + chunk].to(device)
            loss += F.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(1) == target).sum().item()
    return loss / len(labels), correct / len(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model_final.safetensors, or the experiment folder holding it")
    parser.add_argument("--data", required=True, help="CIFAR-10 binary folder (data_batch_{1..5}.bin, test_batch.bin)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=256, help="global batch, split between the processes")
    parser.add_argument("--lr", type=float, default=1e-3, help="the learning rate at the start; a trained model wants less than a fresh one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-samples", type=int, help="train on a random subset of this many images")
    parser.add_argument("--test-samples", type=int, help="evaluate on a random subset of this many images")
    parser.add_argument("--save", default="continued.safetensors", help="where process 0 writes the model after each epoch")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)

    model, config, _ = load_vit_ts_model(model_file(args.model))
    ddp = DistributedDataParallel(model.to(device), device_ids=[local_rank] if cuda else None)
    optimizer = torch.optim.AdamW(ddp.parameters(), lr=args.lr, weight_decay=1e-2)

    # The same generator seed on every process: the same subsets and the same order each epoch.
    generator = torch.Generator().manual_seed(args.seed)
    train_x, train_y = subset(*cifar10.load(args.data, "train"), args.train_samples, generator)
    test_x, test_y = subset(*cifar10.load(args.data, "test"), args.test_samples, generator)
    per_process = max(1, args.batch // world)
    steps_per_epoch = math.ceil(len(train_y) / (per_process * world))
    total_steps = args.epochs * steps_per_epoch
    augment_rng = torch.Generator().manual_seed(args.seed + 1 + rank)  # each process augments its own images

    start, step = time.perf_counter(), 0
    for epoch in range(1, args.epochs + 1):
        ddp.train()
        order = torch.randperm(len(train_y), generator=generator)
        mine = order[rank::world]  # this process's share of the epoch
        total = torch.zeros(2, device=device)  # loss sum, images
        for i in range(0, len(mine), per_process):
            idx = mine[i:i + per_process]
            lr = 1e-5 + 0.5 * (args.lr - 1e-5) * (1 + math.cos(math.pi * step / total_steps))
            for group in optimizer.param_groups:
                group["lr"] = lr
            x = cifar10.augment(cifar10.normalize(train_x[idx]), augment_rng).to(device)
            y = train_y[idx].to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(ddp(x)[0], y)
            loss.backward()  # DDP all-reduces (averages) the gradients here
            torch.nn.utils.clip_grad_norm_(ddp.parameters(), 1.0)
            optimizer.step()
            total += torch.tensor([loss.item() * len(idx), len(idx)], device=device)
            step += 1
        dist.all_reduce(total)
        if rank == 0:
            test_loss, test_acc = evaluate(model, test_x, test_y, device)
            # `vit plot LOG.jsonl` reads these lines (src/io/pytorch-log.ts): keep epoch, test_acc and elapsed_s.
            print(json.dumps({"epoch": epoch, "processes": world, "train_loss": round((total[0] / total[1]).item(), 4),
                              "test_loss": round(test_loss, 4), "test_acc": test_acc,
                              "elapsed_s": round(time.perf_counter() - start, 1)}), flush=True)
            saved = {k: v for k, v in config.items() if k != "use_faster_attention"}
            safetensors_file.write(args.save, {k: v.cpu() for k, v in model.state_dict().items()},
                                   {"format": "pt", "config": json.dumps(saved)})
        dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
