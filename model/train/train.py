#!/usr/bin/env python3
"""Trains LatencyWatch's default latency anomaly model with TensorFlow and
exports it as TFLite for the tf_anomaly processor.

  PY="$(scripts/tf-venv.sh)" && "$PY" model/train/train.py OUTDIR [TESTDATA]

Writes into OUTDIR:
  latency_anomaly.tflite   the model (input `window` [batch, 64, 5]; outputs
                           `score` [batch, 1] and `expected` [batch, 1])
  training_metrics.json    validation metrics `make model` compares against
and into TESTDATA (when given):
  default_model_conformance.json   random inputs and tf.lite.Interpreter outputs
  features.json                    a series and the feature windows
                                   features.py computes for it (Go parity)

Everything is seeded; TensorFlow runs with op determinism on CPU, so a rerun
on the same TensorFlow build reproduces the weights. The held-out split is
never generated here.
"""

import base64
import hashlib
import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# oneDNN may reorder float sums between runs; the plain kernels are reproducible.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402
from keras import ops  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import features  # noqa: E402

W, F = features.W, features.F
SEED = 5
TRAIN_SERIES = int(os.environ.get("LW_TRAIN_SERIES", "300"))
VAL_SERIES = int(os.environ.get("LW_VAL_SERIES", "40"))
POINTS = 4000
NEG_KEEP = 0.12     # fraction of normal points kept as training windows
EPOCHS = int(os.environ.get("LW_TRAIN_EPOCHS", "12"))
BATCH = 512
MODEL_VERSION = "1.1.0"


def split(name, count, neg_keep, rng):
    xs, ys = [], []
    for i in range(count):
        t, v, wins = corpus.generate_series(corpus.SEEDS[name] + i, POINTS)
        lab = corpus.point_labels(t, wins)
        idx = np.arange(W - 1, len(t))
        if neg_keep < 1.0:
            keep = (lab[idx] > 0) | (rng.random(len(idx)) < neg_keep)
            idx = idx[keep]
        x, _, _ = features.windows(t, v, idx)
        xs.append(x)
        ys.append(lab[idx])
    return np.concatenate(xs), np.concatenate(ys).astype(np.float32)


def build_model():
    """Forecaster + classifier over the window.

    Only the value channel is read across rows, the time channels only from
    the newest row: per-row time channels are a smooth function of the newest
    one, and reading them all would make the first layers five times larger
    (cost per scored point) for no gain in validation F1.
    """
    inp = keras.Input(shape=(W, F), name="window")
    vals = inp[:, :, 0]                                   # [batch, W]
    h = L.Dense(32, activation="relu", name="forecast_hidden")(vals[:, : W - 1])
    fc = L.Dense(2, name="forecast")(h)                   # [mu, log sigma]
    mu = fc[:, 0:1]
    logsig = ops.clip(fc[:, 1:2], -4.0, 3.0)
    cur = vals[:, W - 1:W]
    z = ops.clip((cur - mu) * ops.exp(-logsig), -10.0, 10.0)
    g = L.Dense(32, activation="relu", name="window_hidden")(vals)
    now = inp[:, W - 1, 1:F]                              # time of the scored point
    c = L.Concatenate()([g, z, mu, logsig, now])
    c = L.Dense(16, activation="relu", name="score_hidden")(c)
    score = L.Dense(1, activation="sigmoid", name="score")(c)
    # The training model also returns log sigma for the forecast loss; the
    # served model shares the layers and returns only the contract outputs.
    train = keras.Model(inp, {"score": score, "forecast": fc})
    serve = keras.Model(inp, {"score": score, "expected": mu})
    return train, serve


def forecast_nll(y_true, fc):
    """Gaussian negative log-likelihood of the current value channel."""
    target = y_true[:, 0]
    mu = fc[:, 0]
    logsig = ops.clip(fc[:, 1], -4.0, 3.0)
    return ops.mean(logsig + 0.5 * ops.square((target - mu) * ops.exp(-logsig)))


def auc(y, p):
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y > 0
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def enc(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode()


def export(serve):
    return tf.lite.TFLiteConverter.from_keras_model(serve).convert()


def reference_cases(content, seed):
    interp = tf.lite.Interpreter(
        model_content=content,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    runner = interp.get_signature_runner("serving_default")
    rng = np.random.default_rng(seed)
    cases = []
    for batch in (1, 5):
        x = rng.normal(0, 1, (batch, W, F)).astype(np.float32)
        x[:, :, 0] *= 3.0
        out = runner(window=x)
        cases.append({"batch": batch, "window": enc(x),
                      "score": enc(out["score"]), "expected": enc(out["expected"])})
    return cases


def threshold_model(window):
    """A hand-set model for the processor's tests: score = sigmoid(4 (x - 3))
    of the newest value channel x (a z-score of 3 gives 0.5), expected = 0
    (the window median). window != W gives a model that breaks the contract."""
    inp = keras.Input(shape=(window, F), name="window")
    cur = inp[:, window - 1, 0:1]
    score = L.Dense(1, activation="sigmoid", name="score")(cur)
    expected = L.Dense(1, name="expected")(cur)
    m = keras.Model(inp, {"score": score, "expected": expected})
    m.get_layer("score").set_weights([np.array([[4.0]], np.float32), np.array([-12.0], np.float32)])
    m.get_layer("expected").set_weights([np.zeros((1, 1), np.float32), np.zeros(1, np.float32)])
    return tf.lite.TFLiteConverter.from_keras_model(m).convert()


def feature_fixture():
    t, v, _ = corpus.generate_series(corpus.SEEDS["validation"] + 999, 400)
    v = v[:300]
    t = t[:300]
    idx = np.array([W - 1, 100, 217, 299])
    x, m, s = features.windows(t, v, idx)
    return {"timestamps": t.tolist(), "values": v.tolist(), "indices": idx.tolist(),
            "features": enc(x), "median": m.tolist(), "scale": s.tolist()}


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: train.py OUTDIR [TESTDATA]")
    outdir = sys.argv[1]
    testdata = sys.argv[2] if len(sys.argv) == 3 else None
    os.makedirs(outdir, exist_ok=True)
    began = time.time()

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)

    xtr, ytr = split("train", TRAIN_SERIES, NEG_KEEP, rng)
    xva, yva = split("validation", VAL_SERIES, 1.0, rng)
    print(f"train windows {len(xtr)} (positive {ytr.mean():.3f}), "
          f"validation windows {len(xva)} (positive {yva.mean():.3f})", file=sys.stderr)

    # Training over-represents incidents (NEG_KEEP); the class weight gives
    # normal points their true share back so `score` stays a calibrated
    # probability on the natural point distribution.
    neg_weight = 1.0 / NEG_KEEP
    sw = np.where(ytr > 0, 1.0, neg_weight).astype(np.float32)
    sw /= sw.mean()

    model, serve = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss={"score": keras.losses.BinaryCrossentropy(), "forecast": forecast_nll},
        loss_weights={"score": 1.0, "forecast": 0.1})
    model.fit(xtr, {"score": ytr[:, None], "forecast": xtr[:, W - 1, 0:1]},
              sample_weight={"score": sw, "forecast": np.ones_like(sw)},
              batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=2)

    p = model.predict(xva, batch_size=4096, verbose=0)["score"][:, 0]
    eps = 1e-7
    bce = float(-np.mean(yva * np.log(p + eps) + (1 - yva) * np.log(1 - p + eps)))
    flag = p >= 0.5
    tp = float(np.sum(flag & (yva > 0)))
    prec = tp / max(1.0, float(flag.sum()))
    rec = tp / max(1.0, float((yva > 0).sum()))
    f1 = 2 * prec * rec / max(1e-9, prec + rec)

    content = export(serve)
    path = os.path.join(outdir, "latency_anomaly.tflite")
    with open(path, "wb") as f:
        f.write(content)
    metrics = {
        "model": "latency_anomaly",
        "version": MODEL_VERSION,
        "generator": f"tensorflow {tf.__version__}, keras {keras.__version__}, numpy {np.__version__}",
        "seed": SEED,
        "train_series": TRAIN_SERIES, "validation_series": VAL_SERIES, "points_per_series": POINTS,
        "train_windows": int(len(xtr)), "validation_windows": int(len(xva)), "epochs": EPOCHS,
        "validation_point_bce": round(bce, 5),
        "validation_point_auc": round(auc(yva, p), 5),
        "validation_point_precision_at_0_5": round(prec, 5),
        "validation_point_recall_at_0_5": round(rec, 5),
        "validation_point_f1_at_0_5": round(f1, 5),
        "tflite_bytes": len(content),
        "tflite_sha256": hashlib.sha256(content).hexdigest(),
        "parameters": int(model.count_params()),
        "training_seconds": round(time.time() - began, 1),
    }
    with open(os.path.join(outdir, "training_metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1, sort_keys=True)
        f.write("\n")
    if testdata:
        os.makedirs(testdata, exist_ok=True)
        doc = {"generator": metrics["generator"], "tolerance": 1e-5,
               "cases": reference_cases(content, SEED + 1)}
        with open(os.path.join(testdata, "default_model_conformance.json"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        for name, window in (("threshold_model.tflite", W), ("threshold_model_w32.tflite", 32)):
            with open(os.path.join(testdata, name), "wb") as f:
                f.write(threshold_model(window))
        with open(os.path.join(testdata, "features.json"), "w") as f:
            json.dump(feature_fixture(), f, sort_keys=True)
            f.write("\n")
    print(json.dumps(metrics, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
