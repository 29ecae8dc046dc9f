"""PyTorch reference for prunecv's LeNet-5 training-throughput benchmark.

LeNet-5 as prunecv defines it (src/model/lenet.rs; Han et al.'s Caffe LeNet): conv 5x5 x20 ->
max-pool 2 -> conv 5x5 x50 -> max-pool 2 -> flatten (channel-major, 800) -> fc 500 -> ReLU ->
fc 10, no activation after the convolutions, on 1x28x28 MNIST-shaped synthetic images (uniform
pixels, 10 classes), batch 128, SGD (lr 0.05, momentum 0.9, weight decay 1e-4), shuffled each
epoch, on 1 and 2 intra-op threads: the loop of train_lenet300.py. Prints JSON: samples per
second, best of `reps` runs.
"""
import json
import sys

import torch

from train_lenet300 import throughput


def lenet5() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(20, 50, 5), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(800, 500), torch.nn.ReLU(),
        torch.nn.Linear(500, 10),
    )


def main() -> None:
    quick = "--quick" in sys.argv
    # As `prunecv bench`: a quarter of LeNet-300-100's rows, one epoch.
    n, epochs, reps = (512, 1, 1) if quick else (4096, 1, 3)
    out = []
    for threads in [1, 2]:
        v = throughput("sgd", threads, n, epochs, reps, make=lenet5, shape=(1, 28, 28))
        out.append({"name": f"train_lenet5_sgd_threads{threads}", "value": v, "unit": "samples/s"})
        print(f"  torch {out[-1]['name']}: {v:.0f} samples/s", file=sys.stderr)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
