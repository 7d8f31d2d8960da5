"""The model input contract, in numpy. processor/tfanomalyprocessor/window.go
computes the same features in Go; testdata/features.json (written by train.py)
pins the two together.

For a point at time t with log-latency l, and the previous W-1 accepted points
of its series (W = 64):

  context   c = the W-1 previous log values (log of seconds, floor 1e-9 s)
  m         = median(c)           (the middle element: W-1 is odd)
  s         = max(1.4826 * median(|c - m|), SCALE_FLOOR)
  row i     = [clip((l_i - m) / s, -CLIP, CLIP),
               sin(2pi tod_i), cos(2pi tod_i), sin(2pi dow_i), cos(2pi dow_i)]
              for the W values l_0..l_{W-1} (l_{W-1} = the current point),
  where tod_i / dow_i are the fraction of the UTC day / week (epoch-aligned) at
  t_i = t - (W-1-i) * interval, interval being the series' EWMA (alpha 0.1) of
  the gaps between accepted points, seeded with the first gap.

Outputs of the model: `score` = P(the current point is inside an incident),
`expected` = the forecast of row W-1's value channel from rows 0..W-2 (so it
never sees the current point); expected latency = exp(m + expected * s).
"""

import numpy as np

W = 64
F = 5
SCALE_FLOOR = 0.01
CLIP = 10.0
LOG_FLOOR = 1e-9
EWMA_ALPHA = 0.1


def ewma_intervals(t):
    """Interval estimate after each point (0 until the second point)."""
    out = np.zeros(len(t))
    iv = 0.0
    for i in range(1, len(t)):
        d = t[i] - t[i - 1]
        iv = d if i == 1 else (1 - EWMA_ALPHA) * iv + EWMA_ALPHA * d
        out[i] = iv
    return out


def windows(t, v, idx=None):
    """Feature windows [n, W, F] for points idx (default: every point >= W-1),
    plus (m, s) per window."""
    logv = np.log(np.maximum(v, LOG_FLOOR))
    ivs = ewma_intervals(t)
    if idx is None:
        idx = np.arange(W - 1, len(t))
    idx = np.asarray(idx)
    view = np.lib.stride_tricks.sliding_window_view(logv, W)  # [len-W+1, W]
    win = view[idx - (W - 1)]
    ctx = win[:, : W - 1]
    m = np.sort(ctx, axis=1)[:, (W - 2) // 2]
    mad = np.sort(np.abs(ctx - m[:, None]), axis=1)[:, (W - 2) // 2]
    s = np.maximum(1.4826 * mad, SCALE_FLOOR)
    x = np.empty((len(idx), W, F), dtype=np.float32)
    x[:, :, 0] = np.clip((win - m[:, None]) / s[:, None], -CLIP, CLIP)
    steps = (W - 1 - np.arange(W))[None, :]
    ti = t[idx][:, None] - steps * ivs[idx][:, None]
    tod = 2 * np.pi * np.mod(ti, 86400.0) / 86400.0
    dow = 2 * np.pi * np.mod(ti, 604800.0) / 604800.0
    x[:, :, 1] = np.sin(tod)
    x[:, :, 2] = np.cos(tod)
    x[:, :, 3] = np.sin(dow)
    x[:, :, 4] = np.cos(dow)
    return x, m, s
