"""PyTorch reference for prunecv's sweep benchmark: the same work as `prunecv bench`'s sweep.

Built-in digits (1797 x 64), stratified 20 % holdout, 5 stratified folds, standardisation fitted
on each model's training rows, MLP 64-128-64-10 trained 30 epochs with SGD (lr 0.05, momentum
0.9, weight decay 1e-4, batch 64); then, per fold, five pruning methods (magnitude, Taylor with
8 gradient batches, importance = L2 row norms of hidden layers, combined, random) at 26 quantile
thresholds (per-layer fraction pruned, 0 .. 0.96), one-shot, evaluated on the validation fold;
selection (best, one_se), refit on the whole pool, one test evaluation per choice.
Usage: sweep_digits.py THREADS [REPS]. Prints JSON with the wall time, best of REPS runs
(default 3, as `prunecv bench` takes the best of its sweep runs).
"""
import gzip
import json
import pathlib
import sys
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_digits():
    raw = gzip.open(ROOT / "src/data/builtin/digits.csv.gz", "rt").read().strip().splitlines()
    a = np.array([[float(v) for v in line.split(",")] for line in raw], dtype=np.float32)
    return a[:, :-1], a[:, -1].astype(np.int64)


def stratified(y, k, rng):
    fold = np.zeros(len(y), dtype=np.int64)
    off = 0
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        fold[idx] = (off + np.arange(len(idx))) % k
        off = (off + len(idx)) % k
    return fold


def train(x, y, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    for _ in range(30):
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
    return model


def weights(model):
    return [m.weight for m in model if isinstance(m, torch.nn.Linear)]


def biases(model):
    return [m.bias for m in model if isinstance(m, torch.nn.Linear)]


def lowest(scores, frac):
    k = int(round(frac * scores.numel()))
    mask = torch.ones_like(scores, dtype=torch.bool)
    if k > 0:
        idx = torch.argsort(scores.flatten(), stable=True)[:k]
        mask.view(-1)[idx] = False
    return mask


def masks_for(method, model, grads, tau, rng_scores):
    ws = weights(model)
    wm = [torch.ones_like(w, dtype=torch.bool) for w in ws]
    bm = [torch.ones_like(b, dtype=torch.bool) for b in biases(model)]
    if method in ("magnitude", "taylor", "random", "combined"):
        for i, w in enumerate(ws):
            s = {"magnitude": w.abs(), "combined": w.abs(), "taylor": (w * grads[i]).abs(),
                 "random": rng_scores[i]}[method]
            wm[i] = lowest(s, tau)
    if method in ("importance", "combined"):
        for i, w in enumerate(ws[:-1]):
            norms = (w * wm[i]).norm(dim=1)
            keep = lowest(norms, tau)
            wm[i] &= keep[:, None]
            bm[i] &= keep
            wm[i + 1] &= keep[None, :]
    return wm, bm


@torch.no_grad()
def evaluate(model, wm, bm, x, y):
    h = x
    layers = [m for m in model if isinstance(m, torch.nn.Linear)]
    for i, layer in enumerate(layers):
        h = h @ (layer.weight * wm[i]).T + layer.bias * bm[i]
        if i + 1 < len(layers):
            h = torch.relu(h)
    return (h.argmax(1) == y).float().mean().item()


def mean_grads(model, x, y, batches):
    loss_fn = torch.nn.CrossEntropyLoss()
    model.zero_grad()
    perm = torch.randperm(len(y))
    used = 0
    for i in range(0, len(y), 64):
        if used == batches:
            break
        idx = perm[i:i + 64]
        loss_fn(model(x[idx]), y[idx]).backward()
        used += 1
    return [w.grad / used for w in weights(model)]


def run_model(xtr, ytr, xev, yev, seed, taus, methods):
    mu, sd = xtr.mean(0), xtr.std(0, unbiased=False)
    sd[sd < 1e-8] = 1.0
    xtr, xev = (xtr - mu) / sd, (xev - mu) / sd
    model = train(xtr, ytr, seed)
    grads = mean_grads(model, xtr, ytr, 8)
    g = torch.Generator().manual_seed(seed)
    rs = [torch.rand(w.shape, generator=g) for w in weights(model)]
    out = {}
    for m in methods:
        for t in taus:
            wm, bm = masks_for(m, model, grads, t, rs)
            out[(m, t)] = evaluate(model, wm, bm, xev, yev)
    return out


def sweep():
    """One whole sweep; returns (wall seconds, test accuracy of magnitude's sparsest choice)."""
    t0 = time.perf_counter()
    x, y = load_digits()
    rng = np.random.default_rng(1)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test[idx[: int(round(0.2 * len(idx)))]] = True
    xp, yp = torch.tensor(x[~test]), torch.tensor(y[~test])
    xt, yt = torch.tensor(x[test]), torch.tensor(y[test])
    fold = stratified(yp.numpy(), 5, rng)
    taus = [round(0.96 * i / 25, 10) for i in range(26)]
    methods = ["magnitude", "taylor", "importance", "combined", "random"]
    per_fold = []
    for f in range(5):
        tr, va = fold != f, fold == f
        per_fold.append(run_model(xp[tr], yp[tr], xp[va], yp[va], f, taus, methods))
    chosen = {}
    for m in methods:
        means = np.array([np.mean([pf[(m, t)] for pf in per_fold]) for t in taus])
        ses = np.array([np.std([pf[(m, t)] for pf in per_fold], ddof=1) / np.sqrt(5) for t in taus])
        b = int(np.argmax(means))
        ok = np.flatnonzero(means >= means[b] - ses[b])
        chosen[m] = sorted({taus[b], taus[ok.max()]})
    refit = run_model(xp, yp, xt, yt, 99, sorted({t for v in chosen.values() for t in v}), methods)
    return time.perf_counter() - t0, refit[("magnitude", chosen["magnitude"][-1])]


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    runs = [sweep() for _ in range(reps)]
    wall = min(w for w, _ in runs)
    print(json.dumps({"name": f"sweep_digits_threads{torch.get_num_threads()}", "value": wall, "unit": "s",
                      "runs": reps, "test_acc_magnitude": runs[0][1]}))


if __name__ == "__main__":
    main()
