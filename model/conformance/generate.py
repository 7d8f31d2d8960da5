#!/usr/bin/env python3
"""Builds the conformance suite for LatencyWatch's pure-Go TFLite interpreter.

For each small, seeded Keras model this writes into OUTDIR:

  <name>.tflite   the model as TensorFlow's default converter emits it
  <name>.json     inputs and the outputs of TensorFlow's own tf.lite.Interpreter

internal/tflite's conformance test runs every model on the same inputs and
compares within the tolerance recorded per model. Besides the models built
here, the models the repository ships (the tf_anomaly default model, any
model/*.tflite; see SHIPPED) join the suite as "shipped_<name>". Run through the cached venv:

  PY="$(scripts/tf-venv.sh)" && "$PY" model/conformance/generate.py OUTDIR

The reference runs TFLite's builtin kernels (no XNNPACK delegate): those define
the operator semantics; XNNPACK may reorder float sums.
"""

import base64
import glob
import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import tf_keras  # noqa: E402
from keras import layers as L  # noqa: E402

WINDOW = 64
FEATURES = 4


def convert(model, quant=None):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if quant == "float16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif quant == "int8-dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    return conv.convert()


def sequential(seed, shape, body, batch_size=None):
    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape=shape, batch_size=batch_size, name="window")
    x = inp
    for layer in body:
        x = layer(x)
    return seed_weights(keras.Model(inp, x), seed)


def seed_weights(model, seed):
    """Sets every weight from a numpy generator.

    Keras' own initialisers are not reproducible across processes here, so the
    fixtures would churn on every regeneration; numpy's are. Kernels get a
    Glorot-uniform draw, everything else (biases, LayerNormalization gamma/beta)
    a non-trivial normal draw so that each parameter influences the output.
    """
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        name = getattr(w, "path", None) or w.name
        if len(shape) >= 2:
            fan_in = int(np.prod(shape[:-1]))
            fan_out = int(shape[-1])
            lim = np.sqrt(6.0 / (fan_in + fan_out))
            v = rng.uniform(-lim, lim, shape)
        elif "gamma" in name:
            v = 1.0 + rng.normal(0, 0.2, shape)
        else:
            v = rng.normal(0, 0.2, shape)
        w.assign(v.astype(np.float32))
    return model


def models():
    """(name, keras model, quantization, batches, tolerance, why).

    Every model holds 1e-5 relative today, recurrent ones included (measured
    worst: ~1e-6). A looser tolerance needs a reason, recorded in the fixture.
    """
    out = []

    m = sequential(1, (WINDOW, FEATURES), [
        L.Flatten(), L.Dense(64, activation="relu"), L.Dropout(0.2),
        L.Dense(16, activation="tanh"), L.Dense(64, activation="relu"),
        L.Dense(WINDOW * FEATURES), L.Reshape((WINDOW, FEATURES))])
    out.append(("dense_autoencoder", m, None, [1, 3], 1e-5, ""))

    m = sequential(2, (WINDOW, FEATURES), [
        L.Conv1D(8, 5, padding="same", activation="relu"),
        L.MaxPooling1D(2),
        L.Conv1D(12, 3, padding="valid", dilation_rate=2, activation="relu6"),
        L.AveragePooling1D(2, padding="same"),
        L.Conv1D(8, 3, strides=2, padding="same"),
        L.GlobalAveragePooling1D(),
        L.Dense(1)])
    out.append(("conv1d", m, None, [1, 3], 1e-5, ""))

    m = sequential(3, (WINDOW, FEATURES), [
        L.SeparableConv1D(8, 3, padding="same", depth_multiplier=2, activation="relu"),
        L.GlobalMaxPooling1D(),
        L.Dense(2, activation="sigmoid")])
    out.append(("separable_conv1d", m, None, [1, 2], 1e-5, ""))

    m = sequential(4, (WINDOW, FEATURES), [
        L.LSTM(16, return_sequences=True), L.LSTM(8), L.Dense(1)], batch_size=1)
    out.append(("lstm", m, None, [1], 1e-5, ""))

    m = sequential(5, (16, FEATURES), [L.LSTM(8, unroll=True), L.Dense(1)])
    out.append(("lstm_unrolled", m, None, [1, 3], 1e-5, ""))

    m = sequential(6, (WINDOW, FEATURES), [L.GRU(16), L.Dense(1)], batch_size=1)
    out.append(("gru", m, None, [1], 1e-5, ""))

    m = sequential(7, (16, FEATURES), [L.GRU(8, unroll=True), L.Dense(1)])
    out.append(("gru_unrolled", m, None, [1, 3], 1e-5, ""))

    m = sequential(8, (WINDOW, FEATURES), [
        L.Dense(16), L.LayerNormalization(epsilon=1e-3), L.Dense(FEATURES)])
    out.append(("layer_norm", m, None, [1, 3], 1e-5, ""))

    keras.utils.set_random_seed(9)
    a = keras.Input(shape=(WINDOW, FEATURES), name="window")
    b = keras.Input(shape=(WINDOW, FEATURES), name="baseline")
    d = L.Subtract()([a, b])
    s = L.Add()([a, b])
    p = L.Multiply()([d, s])
    mx = L.Maximum()([a, b])
    mn = L.Minimum()([a, b])
    avg = L.Average()([mx, mn])
    c = L.Concatenate(axis=-1)([p, avg, L.Activation("sigmoid")(d), L.Activation("tanh")(s)])
    c = L.Dense(4, activation="relu")(c)
    m = seed_weights(keras.Model([a, b], [c, L.Activation("relu")(d)]), 9)
    out.append(("arithmetic", m, None, [1, 2], 1e-5, ""))

    m = sequential(10, (WINDOW, FEATURES), [
        L.Flatten(), L.Dense(64, activation="relu"), L.Dense(16), L.Dense(WINDOW * FEATURES),
        L.Reshape((WINDOW, FEATURES))])
    out.append(("dense_float16", m, "float16", [1, 3], 1e-5, ""))

    m = sequential(11, (WINDOW, FEATURES), [
        L.Flatten(), L.Dense(64, activation="relu"), L.Dense(32, activation="relu"),
        L.Dense(WINDOW * FEATURES), L.Reshape((WINDOW, FEATURES))])
    out.append(("dense_int8_dynamic", m, "int8-dynamic", [1, 3], 1e-5, ""))

    m = sequential(13, (WINDOW, FEATURES), [
        L.Conv1D(16, 5, padding="same", activation="relu"),
        L.Conv1D(32, 5, padding="same"),
        L.GlobalAveragePooling1D(),
        L.Dense(FEATURES)])
    out.append(("conv1d_int8_dynamic", m, "int8-dynamic", [1, 3], 1e-5, ""))

    m = sequential(14, (8, 8, 2), [
        L.Conv2D(4, 3, padding="same", activation="relu"),
        L.Conv2D(4, (2, 3), strides=2, padding="valid"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(3)])
    out.append(("conv2d", m, None, [1, 2], 1e-5, ""))

    keras.utils.set_random_seed(15)
    inp = keras.Input(shape=(WINDOW, FEATURES), name="window")
    x = L.ZeroPadding1D(2)(inp)
    x = L.Cropping1D((1, 3))(x)
    p = L.Permute((2, 1))(x)
    d = L.Dot(axes=(2, 1))([x, p])
    x = L.Dense(2)(L.Flatten()(d))
    u = L.GlobalMaxPooling1D()(L.UpSampling1D(2)(inp))
    m = seed_weights(keras.Model(inp, L.Concatenate()([x, u])), 15)
    out.append(("shape_layers", m, None, [1, 2], 1e-5, ""))

    m = sequential(16, (WINDOW, FEATURES), [
        L.Dense(8, activation="elu"), L.Dense(8, activation="softplus"),
        L.Activation("swish"), L.Activation("gelu"), L.Activation("leaky_relu"),
        L.Activation("softmax")])
    out.append(("activations", m, None, [1, 2], 1e-5, ""))

    # tf.keras (Keras 2) LSTMs convert to the fused UNIDIRECTIONAL_SEQUENCE_LSTM
    # (with cell clipping); like Keras 3's, only with a fixed batch size.
    tf_keras.utils.set_random_seed(17)
    inp = tf_keras.Input(shape=(16, FEATURES), batch_size=2, name="window")
    x = tf_keras.layers.LSTM(8, return_sequences=True)(inp)
    x = tf_keras.layers.LSTM(4)(x)
    m = seed_weights(tf_keras.Model(inp, tf_keras.layers.Dense(1)(x)), 17)
    out.append(("lstm_tf_keras", m, None, [2], 1e-5, ""))

    # The benchmark model: a default-size window autoencoder (see docs/benchmarks/tflite.md).
    m = bench_model()
    out.append(("bench_conv_autoencoder", m, None, [1, 4], 1e-5, ""))
    return out


def bench_model():
    return sequential(12, (WINDOW, FEATURES), [
        L.Conv1D(16, 5, padding="same", activation="relu"),
        L.Conv1D(16, 5, padding="same", activation="relu"),
        L.Flatten(),
        L.Dense(64, activation="relu"),
        L.Dense(16, activation="relu"),
        L.Dense(64, activation="relu"),
        L.Dense(WINDOW * FEATURES),
        L.Reshape((WINDOW, FEATURES))])


def enc(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode()


def reference(content, batches, seed):
    interp = tf.lite.Interpreter(
        model_content=content,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    sig = interp.get_signature_list()
    key = next(iter(sig)) if sig else None
    sig_in = {}
    sig_out = {}
    if key:
        det = interp._get_full_signature_list()[key]
        sig_in = {v: k for k, v in det["inputs"].items()}
        sig_out = {v: k for k, v in det["outputs"].items()}
    rng = np.random.default_rng(seed)
    cases = []
    for batch in batches:
        ins = interp.get_input_details()
        for d in ins:
            shape = list(d["shape"])
            if batch != shape[0]:
                shape[0] = batch
                interp.resize_tensor_input(d["index"], shape)
        interp.allocate_tensors()
        # Fused LSTM state is a variable tensor that TFLite carries across
        # invocations; every case starts from zero state.
        interp.reset_all_variables()
        case = {"batch": batch, "inputs": [], "outputs": []}
        for d in interp.get_input_details():
            x = rng.normal(0, 1, d["shape"]).astype(np.float32)
            interp.set_tensor(d["index"], x)
            case["inputs"].append({"tensor": d["name"], "signature_name": sig_in.get(d["index"], ""),
                                   "shape": [int(v) for v in d["shape"]], "data": enc(x)})
        interp.invoke()
        for d in interp.get_output_details():
            y = interp.get_tensor(d["index"])
            case["outputs"].append({"tensor": d["name"], "signature_name": sig_out.get(d["index"], ""),
                                    "shape": [int(v) for v in y.shape], "data": enc(y)})
        cases.append(case)
    return key, cases


# Models the repository ships, relative to its root: the tf_anomaly default
# model embedded in the collector, and any model/*.tflite.
SHIPPED = ("model/*.tflite", "processor/*/internal/defaultmodel/*.tflite")


def shipped_models():
    """Models shipped under model/ (the default anomaly model) join the suite
    as they are: (name, .tflite bytes, batches)."""
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    paths = []
    for pattern in SHIPPED:
        paths += glob.glob(os.path.join(repo, pattern))
    out = []
    for path in sorted(paths):
        with open(path, "rb") as f:
            content = f.read()
        interp = tf.lite.Interpreter(model_content=content)
        sig = interp.get_input_details()[0].get("shape_signature", [])
        batches = [1, 3] if len(sig) and sig[0] == -1 else [1]
        out.append(("shipped_" + os.path.splitext(os.path.basename(path))[0], content, batches))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: generate.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    only = set(filter(None, os.environ.get("LW_CONFORMANCE_ONLY", "").split(",")))
    suite = [(name, model, quant, batches, tol, why) for name, model, quant, batches, tol, why in models()]
    suite += [(name, content, "as shipped", batches, 1e-5, "") for name, content, batches in shipped_models()]
    for i, (name, model, quant, batches, tol, why) in enumerate(suite):
        if only and name not in only:
            continue
        content = model if isinstance(model, bytes) else convert(model, quant)
        key, cases = reference(content, batches, seed=1000 + i)
        with open(os.path.join(outdir, name + ".tflite"), "wb") as f:
            f.write(content)
        doc = {
            "model": name + ".tflite",
            "generator": "tensorflow " + tf.__version__ + ", keras " + keras.__version__,
            "quantization": quant or "none",
            "signature": key or "",
            "tolerance": tol,
            "tolerance_reason": why,
            "cases": cases,
        }
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}: {len(content)} bytes, batches {batches}", file=sys.stderr)


if __name__ == "__main__":
    main()
