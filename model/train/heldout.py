#!/usr/bin/env python3
"""Writes a labelled synthetic latency set for cmd/latencyeval.

  heldout.py [--split heldout|validation] [--series N] DATADIR LABELS.json

The held-out split (default) uses seeds no training or tuning run ever sees
(corpus.SEEDS). The validation split is the one train.py validates on; it is
the set to tune thresholds on, never the held-out one.

Layout: DATADIR/<interval>s/series_NNN.csv with `timestamp,value` rows,
value in seconds. Even series use RFC 3339 timestamps, odd ones
`YYYY-MM-DD HH:MM:SS` (with fractional seconds every third file) so the
reader's formats are exercised. LABELS maps each file's path relative to
DATADIR to its incident windows `[[start, end], ...]` (`YYYY-MM-DD
HH:MM:SS.ffffff`, UTC), the NAB convention.
"""

import argparse
import datetime as dt
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

POINTS = 3000


def fmt_plain(t, frac):
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M:%S.%f") if frac else d.strftime("%Y-%m-%d %H:%M:%S")


def fmt_rfc3339(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="heldout", choices=["heldout", "validation"])
    ap.add_argument("--series", type=int, default=60)
    ap.add_argument("datadir")
    ap.add_argument("labels")
    a = ap.parse_args()
    labels = {}
    for i in range(a.series):
        t, v, wins = corpus.generate_series(corpus.SEEDS[a.split] + i, POINTS)
        interval = int(round(min(t[1:] - t[:-1])))
        rel = f"{interval}s/series_{i:03d}.csv"
        path = os.path.join(a.datadir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("timestamp,value\n")
            for ts, val in zip(t, v):
                stamp = fmt_rfc3339(ts) if i % 2 == 0 else fmt_plain(ts, i % 3 == 0)
                f.write(f"{stamp},{val:.9g}\n")
        labels[rel] = [[fmt_plain(s, True), fmt_plain(e, True)] for s, e in wins]
    os.makedirs(os.path.dirname(os.path.abspath(a.labels)), exist_ok=True)
    with open(a.labels, "w") as f:
        json.dump(labels, f, indent=1, sort_keys=True)
        f.write("\n")
    n_win = sum(len(w) for w in labels.values())
    print(f"heldout: {a.split}: {a.series} series x {POINTS} points, {n_win} labelled windows -> {a.datadir}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
