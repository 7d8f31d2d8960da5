#!/usr/bin/env python3
"""Go interpreter vs the official LiteRT runtime, same model, same batches, one run.

Alternates, for --rounds rounds, `go test -bench BenchmarkInvoke` in
internal/tflite and LiteRT (`ai-edge-litert`, default XNNPACK delegate, one
thread) on the same .tflite at the same batch sizes, keeps each side's best
round (the machines are shared and noisy; alternating exposes both sides to the
same noise), and prints per-window latency, windows/s and the ratio Go time /
LiteRT time (≤ 1.0 means Go is at least as fast). Invoked by
`make bench-tflite` through the cached venv.
"""

import argparse
import os
import re
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

MODEL = "internal/tflite/testdata/conformance/bench_conv_autoencoder.tflite"
BATCHES = (1, 256)


def go_bench(go, repo, benchtime):
    cmd = [go, "test", "-run", "^$", "-bench", "^BenchmarkInvoke$", "-benchtime", benchtime,
           "-count", "1", "./internal/tflite"]
    out = subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"BenchmarkInvoke/batch=(\d+)\S*\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) ns/window.*?(\d+) allocs/op", line)
        if m:
            res[int(m.group(1))] = (float(m.group(3)), int(m.group(4)))
    cpu = next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("cpu:")), "?")
    if set(res) != set(BATCHES):
        sys.exit("could not parse go benchmark output:\n" + out)
    return res, cpu


def litert_bench(path, batch, min_seconds):
    from ai_edge_litert.interpreter import Interpreter
    ip = Interpreter(model_path=path, num_threads=1)
    d = ip.get_input_details()[0]
    shape = list(d["shape"])
    shape[0] = batch
    ip.resize_tensor_input(d["index"], shape)
    ip.allocate_tensors()
    ip.set_tensor(d["index"], np.random.default_rng(1).normal(0, 1, shape).astype(np.float32))
    for _ in range(10):
        ip.invoke()
    n, start = 0, time.perf_counter()
    while True:
        ip.invoke()
        n += 1
        el = time.perf_counter() - start
        if el >= min_seconds and n >= 10:
            break
    return el / n * 1e9 / batch


def litert_floor(min_seconds):
    """Per-invoke cost of LiteRT on a one-ADD model: the Python binding and
    interpreter dispatch that every LiteRT number above includes."""
    # TensorFlow's C++ start-up chatter goes to fd 2 regardless of logging levels.
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            import tensorflow as tf
            f = tf.function(lambda x: x + 1.0, input_signature=[tf.TensorSpec([1, 1], tf.float32)])
            content = tf.lite.TFLiteConverter.from_concrete_functions(
                [f.get_concrete_function()], f).convert()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return litert_time(content, min_seconds)


def litert_time(content, min_seconds):
    from ai_edge_litert.interpreter import Interpreter
    ip = Interpreter(model_content=content, num_threads=1)
    ip.allocate_tensors()
    for _ in range(100):
        ip.invoke()
    n, start = 0, time.perf_counter()
    while True:
        ip.invoke()
        n += 1
        el = time.perf_counter() - start
        if el >= min_seconds and n >= 10:
            return el / n * 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--go", default="go")
    ap.add_argument("--repo", default=".")
    ap.add_argument("--benchtime", default="1s")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import ai_edge_litert
    ver = getattr(ai_edge_litert, "__version__", None)
    if ver is None:
        from importlib.metadata import version
        ver = version("ai-edge-litert")

    secs = float(args.benchtime.rstrip("s"))
    path = os.path.join(args.repo, MODEL)
    best_go = {b: (float("inf"), 0) for b in BATCHES}
    best_lt = {b: float("inf") for b in BATCHES}
    for _ in range(args.rounds):
        go, cpu = go_bench(args.go, args.repo, args.benchtime)
        for b in BATCHES:
            best_go[b] = min(best_go[b], go[b])
            best_lt[b] = min(best_lt[b], litert_bench(path, b, secs))
    print(f"model: {MODEL}")
    print(f"cpu: {cpu}; one thread each; LiteRT {ver} (ai-edge-litert, default XNNPACK delegate); "
          f"best of {args.rounds} alternating rounds of {args.benchtime}")
    print(f"{'batch':>5}  {'Go ns/window':>13}  {'Go windows/s':>12}  {'LiteRT ns/window':>16}  "
          f"{'LiteRT windows/s':>16}  {'Go/LiteRT time':>14}  Go allocs/op")
    for b in BATCHES:
        (g, allocs), lt = best_go[b], best_lt[b]
        print(f"{b:>5}  {g:>13.0f}  {1e9 / g:>12.0f}  {lt:>16.0f}  {1e9 / lt:>16.0f}  {g / lt:>14.2f}  {allocs}")
    print(f"LiteRT per-invoke floor from Python (one-ADD model): {litert_floor(secs):.0f} ns "
          "(included in the LiteRT batch-1 time)")


if __name__ == "__main__":
    main()
