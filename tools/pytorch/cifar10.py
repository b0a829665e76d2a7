"""CIFAR-10's binary files (data_batch_1..5.bin, test_batch.bin: records of one label byte and
3x32x32 pixel bytes) as tensors, and the seed's training transforms done batched on tensors."""
import math
import os

import torch
from torch.nn import functional as F

RECORD = 1 + 3 * 32 * 32


def load(folder, split):
    """(images uint8 [n, 3, 32, 32], labels int64 [n]) of the train or test split."""
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    raw = bytearray()
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            raw += f.read()
    records = torch.frombuffer(raw, dtype=torch.uint8).view(-1, RECORD)
    return records[:, 1:].reshape(-1, 3, 32, 32).clone(), records[:, 0].long()


def normalize(images):
    """uint8 pixels to the seed's inputs: ToTensor then Normalize(mean 0.5, std 0.5)."""
    return images.float().div(255.0).sub(0.5).div(0.5)


def augment(x, generator):
    """RandomResizedCrop(32, scale 0.8-1, ratio 3/4-4/3) and RandomHorizontalFlip, one affine resampling per image."""
    n = x.shape[0]
    area = torch.empty(n).uniform_(0.8, 1.0, generator=generator)
    ratio = torch.exp(torch.empty(n).uniform_(math.log(3 / 4), math.log(4 / 3), generator=generator))
    width = torch.sqrt(area * ratio).clamp(max=1.0)
    height = torch.sqrt(area / ratio).clamp(max=1.0)
    # the crop's centre, anywhere the crop stays inside the image (coordinates in [-1, 1])
    centre_x = (torch.rand(n, generator=generator) * 2 - 1) * (1 - width)
    centre_y = (torch.rand(n, generator=generator) * 2 - 1) * (1 - height)
    mirror = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = width * mirror
    theta[:, 0, 2] = centre_x
    theta[:, 1, 1] = height
    theta[:, 1, 2] = centre_y
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
