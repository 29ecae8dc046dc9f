"""PyTorch reference for prunecv's training-throughput benchmark.

LeNet-300-100 (784-300-100-10, ReLU), batch 128, on MNIST-shaped synthetic data (uniform
features, 10 classes), SGD (momentum 0.9, weight decay 1e-4) or AdamW, shuffled each epoch,
on 1 and 2 intra-op threads. Prints JSON: samples per second, best of `reps` runs.
"""
import json
import sys
import time

import torch


def lenet300() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(784, 300), torch.nn.ReLU(),
        torch.nn.Linear(300, 100), torch.nn.ReLU(),
        torch.nn.Linear(100, 10),
    )


def throughput(opt_name: str, threads: int, n: int, epochs: int, reps: int,
               make=lenet300, shape=(784,)) -> float:
    """Samples/s training `make()` on n rows of `shape` (best of `reps` runs of `epochs`)."""
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, *shape, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    best = 0.0
    for r in range(reps):
        torch.manual_seed(r)
        model = make()
        if opt_name == "sgd":
            opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
        else:
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        loss_fn = torch.nn.CrossEntropyLoss()
        t0 = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(n)
            for i in range(0, n, 128):
                idx = perm[i:i + 128]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(x[idx]), y[idx])
                if not torch.isfinite(loss):
                    raise SystemExit("diverged")
                loss.backward()
                opt.step()
        best = max(best, n * epochs / (time.perf_counter() - t0))
    return best


def main() -> None:
    quick = "--quick" in sys.argv
    n, epochs, reps = (2048, 1, 1) if quick else (16384, 2, 3)
    out = []
    for opt in ["sgd", "adamw"]:
        for threads in [1, 2]:
            v = throughput(opt, threads, n, epochs, reps)
            out.append({"name": f"train_lenet300_{opt}_threads{threads}", "value": v, "unit": "samples/s"})
            print(f"  torch {out[-1]['name']}: {v:.0f} samples/s", file=sys.stderr)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
