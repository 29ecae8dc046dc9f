#!/usr/bin/env bash
# Benchmark prunecv against the PyTorch reference on this machine and print ratios.
#   bash bench/run.sh            # full measurements
#   bash bench/run.sh --quick    # a fast smoke run
# Needs: a Rust toolchain, and Python with the packages in bench/peer/requirements.txt
# (set PYTHON=/path/to/venv/bin/python; it defaults to python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
QUICK=${1:-}
cargo build --release --quiet
out=$(mktemp -d)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "prunecv bench ${QUICK}" >&2
"${CARGO_TARGET_DIR:-target}/release/prunecv" bench $QUICK > "$out/ours.json"
echo "torch training ${QUICK}" >&2
"$PY" bench/peer/train_lenet300.py $QUICK > "$out/torch_train.json"
"$PY" bench/peer/train_lenet5.py $QUICK > "$out/torch_train5.json"
echo "torch sweep (1 and 2 threads)" >&2
"$PY" bench/peer/sweep_digits.py 1 > "$out/torch_sweep1.json"
"$PY" bench/peer/sweep_digits.py 2 > "$out/torch_sweep2.json"
"$PY" - "$out" <<'PYEOF'
import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
ours = {m["name"]: m["value"] for m in json.loads((d / "ours.json").read_text())}
torch = {m["name"]: m["value"] for f in ("torch_train.json", "torch_train5.json")
         for m in json.loads((d / f).read_text())}
s1 = json.loads((d / "torch_sweep1.json").read_text())["value"]
s2 = json.loads((d / "torch_sweep2.json").read_text())["value"]
print(f"{'measurement':40} {'prunecv':>12} {'pytorch':>12} {'ratio':>8}")
for k in sorted(torch):
    print(f"{k:40} {ours[k]:12.0f} {torch[k]:12.0f} {ours[k] / torch[k]:7.2f}x  (samples/s, higher is better)")
print(f"{'sweep_digits 1 job / 1 thread (s)':40} {ours['sweep_digits_jobs1']:12.2f} {s1:12.2f} {s1 / ours['sweep_digits_jobs1']:7.2f}x  (speed-up over pytorch)")
print(f"{'sweep_digits 2 jobs / 2 threads (s)':40} {ours['sweep_digits_jobs2']:12.2f} {s2:12.2f} {s2 / ours['sweep_digits_jobs2']:7.2f}x  (speed-up over pytorch)")
print(f"{'prunecv scaling --jobs 1 -> 2':40} {ours['sweep_scaling_jobs1_over_jobs2']:12.2f}x")
if "sweep_lenet5_jobs1" in ours:
    print(f"{'LeNet-5 sweep, synthetic 28x28 (s)':40} {ours['sweep_lenet5_jobs1']:12.2f} {ours['sweep_lenet5_jobs2']:12.2f} {ours['sweep_lenet5_scaling_jobs1_over_jobs2']:7.2f}x  (prunecv --jobs 1, --jobs 2, scaling)")
print(f"{'  ceiling: two 1-job sweeps at once':40} {ours['sweep_scaling_ceiling_two_independent']:12.2f}x  (2 x alone / each-when-paired)")
for model, label, opt in (("lenet300", "MLP", "sgd"), ("lenet300", "MLP", "adamw"), ("lenet5", "LeNet-5", "sgd")):
    k, c = f"train_{model}_{opt}_threads1", f"train_{model}_{opt}_threads1_candle_autograd"
    if c in ours:
        print(f"{label + ' engine vs candle autograd, ' + opt:40} {ours[k]:12.0f} {ours[c]:12.0f} {ours[k] / ours[c]:7.2f}x  (both prunecv, 1 thread)")
PYEOF
