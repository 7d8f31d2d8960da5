#!/usr/bin/env python3
"""Compares a fresh training run's metrics with the committed ones.

  check_metrics.py COMMITTED.json FRESH.json

Tolerances (absolute): AUC and F1 0.01, BCE 0.005. A rerun on the same
TensorFlow build is bit-identical (op determinism, seeded numpy); the
tolerance covers other CPUs / BLAS builds, which may round differently.
Exit status 1 when a metric drifts beyond its tolerance.
"""

import json
import sys

TOLERANCES = {
    "validation_point_auc": 0.01,
    "validation_point_f1_at_0_5": 0.01,
    "validation_point_bce": 0.005,
}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_metrics.py COMMITTED.json FRESH.json")
    with open(sys.argv[1]) as f:
        old = json.load(f)
    with open(sys.argv[2]) as f:
        new = json.load(f)
    bad = []
    for key, tol in TOLERANCES.items():
        d = abs(new[key] - old[key])
        state = "ok" if d <= tol else "DRIFT"
        print(f"model: {key}: committed {old[key]} fresh {new[key]} |diff| {d:.5f} (tolerance {tol}) {state}")
        if d > tol:
            bad.append(key)
    same = old.get("tflite_sha256") == new.get("tflite_sha256")
    print("model: tflite bytes " + ("identical to the committed model" if same else "differ from the committed model"))
    if bad:
        sys.exit("model: metrics drifted beyond tolerance: " + ", ".join(bad))


if __name__ == "__main__":
    main()
