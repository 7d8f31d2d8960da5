"""Synthetic latency corpus for LatencyWatch's default anomaly model.

One generator serves three disjoint uses, separated by seed ranges that never
overlap (see SEEDS): training, validation (early stopping, threshold choice,
the reproducibility check of `make model`) and the held-out evaluation set that
cmd/latencyeval scores. Nothing here reads the held-out set back.

A series is a sequence of (unix seconds, latency seconds) points with labelled
anomaly windows. The generator models what a latency signal from a service
looks like, in log space (latency is roughly log-normal):

  normal behaviour                       labelled anomalies (incidents)
  - base level from 20 µs to 3 s         - bursts: x3..x20 for 3..30 points
  - diurnal and weekly seasonality       - bad deploys: x2..x5 for 20..150 points
  - log-normal noise, heavy tails          (rolled back afterwards)
  - GC pauses: isolated x1.5..x4 points  - slow degradation: a ramp to x2.5..x6
  - deploy level shifts of +-40 %          over 80..400 points, labelled while
  - missing points and gaps                the factor is above x1.6

GC pauses and small deploy shifts are *not* incidents: a good detector must not
wake anyone for them.
"""

import math

import numpy as np

# Seed ranges per split: split seed k of series i is base + i. They are far
# apart so no series is ever shared between splits.
SEEDS = {"train": 1_000_000, "validation": 2_000_000, "heldout": 3_000_000}

INTERVALS = np.array([10.0, 15.0, 30.0, 60.0])


def generate_series(seed, n_points):
    """Returns (t, v, windows): timestamps (s), values (s), [(start, end)] in seconds."""
    rng = np.random.default_rng(seed)
    interval = float(rng.choice(INTERVALS))
    start = 1_700_000_000.0 + float(rng.integers(0, 365 * 86400 // 60)) * 60.0
    t = start + interval * np.arange(n_points)

    base = math.log(10 ** rng.uniform(math.log10(20e-6), math.log10(3.0)))
    level = np.full(n_points, base)

    tod = (t % 86400.0) / 86400.0
    dow = (t % 604800.0) / 604800.0
    level += rng.uniform(0.0, 0.5) * np.sin(2 * np.pi * tod + rng.uniform(0, 2 * np.pi))
    level += rng.uniform(0.0, 0.2) * np.sin(2 * np.pi * dow + rng.uniform(0, 2 * np.pi))

    # Deploy level shifts: persistent, small, not incidents.
    for _ in range(rng.poisson(1.0)):
        at = int(rng.integers(0, n_points))
        level[at:] += rng.uniform(-0.4, 0.4)

    sigma = rng.uniform(0.05, 0.4)
    noise = rng.normal(0.0, sigma, n_points)
    # Heavy tails: a few points from a Student-t with 3 degrees of freedom.
    tails = rng.random(n_points) < 0.01
    noise[tails] = np.abs(rng.standard_t(3, tails.sum())) * sigma * 2.0
    # GC pauses: isolated single points, roughly periodic.
    period = int(rng.integers(50, 300))
    pos = int(rng.integers(0, period))
    while pos < n_points:
        noise[pos] += math.log(rng.uniform(1.5, 4.0))
        pos += max(2, int(period * rng.uniform(0.7, 1.3)))

    anomaly = np.zeros(n_points)
    label = np.zeros(n_points, dtype=bool)
    n_events = rng.poisson(2.0 * n_points / 4000.0)
    for _ in range(n_events):
        kind = rng.choice(["burst", "burst", "deploy", "degradation"])
        at = int(rng.integers(64, max(65, n_points - 10)))
        if kind == "burst":
            length = int(rng.integers(3, 31))
            f = math.log(rng.uniform(3.0, 20.0))
            seg = slice(at, min(n_points, at + length))
            anomaly[seg] += f + rng.normal(0, 0.2, anomaly[seg].shape)
            label[seg] = True
        elif kind == "deploy":
            length = int(rng.integers(20, 151))
            f = math.log(rng.uniform(2.0, 5.0))
            seg = slice(at, min(n_points, at + length))
            anomaly[seg] += f
            label[seg] = True
        else:
            length = int(rng.integers(80, 401))
            peak = math.log(rng.uniform(2.5, 6.0))
            ramp = np.linspace(0.0, peak, length)
            end = min(n_points, at + length)
            anomaly[at:end] += ramp[: end - at]
            label[at:end] |= ramp[: end - at] > math.log(1.6)

    v = np.exp(level + noise + anomaly)

    # Missing points: scattered drops and a few gaps.
    keep = rng.random(n_points) > rng.uniform(0.0, 0.03)
    for _ in range(rng.poisson(1.0)):
        at = int(rng.integers(0, n_points))
        keep[at: at + int(rng.integers(5, 31))] = False
    keep[:64] = True

    windows = label_windows(t, label)
    return t[keep], v[keep], windows


def label_windows(t, label):
    """Maximal runs of labelled points as (start, end) timestamps."""
    out = []
    i, n = 0, len(label)
    while i < n:
        if label[i]:
            j = i
            while j + 1 < n and label[j + 1]:
                j += 1
            out.append((float(t[i]), float(t[j])))
            i = j + 1
        else:
            i += 1
    return out


def point_labels(t, windows):
    lab = np.zeros(len(t), dtype=np.float32)
    for s, e in windows:
        lab[(t >= s) & (t <= e)] = 1.0
    return lab
