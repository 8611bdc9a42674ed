"""Both cores on one video: the model in one process vs split across two (``--workers 2``).

    python benchmarks/segments.py [PATH ...] [--workers 2] [--name NAME]

PATH: videos or folders of ``*.mp4`` (default ``samples/``). Each video is analysed as
``formcheck analyze --no-video`` does (``analyze_video``, ``--exercise auto``), first in one
process, then with its frames split across ``--workers`` processes (forced, whatever the
video's length: ``auto`` splits only videos of 12 s or more), side by side in one run.
Compared per clip: exercise, rep count, attempts, each rep's faults and the set-level
findings (all must be equal: "same verdicts"), the reps' peak angles (median and largest
absolute difference) and the wall time of each. Prints a Markdown table and writes
``benchmarks/results/segments_<name>.json`` / ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from formcheck.analysis import analyze_video  # noqa: E402
from formcheck.pose.native_log import quiet_native_stderr  # noqa: E402
from formcheck.pose.video import probe_video  # noqa: E402
from framerate_model import differences, videos_in  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path, default=[ROOT / "samples"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--name", default="samples")
    args = ap.parse_args()
    rows = []
    for v in videos_in(args.paths):
        info = probe_video(v)
        runs = {}
        for w in (1, args.workers):
            t0 = time.perf_counter()
            with quiet_native_stderr():
                a = analyze_video(v, exercise="auto", info=info, workers=w)
            runs[w] = (a.session, time.perf_counter() - t0)
        d = differences(runs[1][0], runs[args.workers][0])
        row = {
            "clip": v.name,
            "duration_s": round(info.duration_s, 1),
            "s_one": round(runs[1][1], 2),
            "s_split": round(runs[args.workers][1], 2),
            **d,
        }
        rows.append(row)
        print(
            f"{v.name}: {'same' if d['same'] else 'DIFFERS ' + ','.join(d['differs'])}, "
            f"peak d {d['peak_med']:.2f}/{d['peak_max']:.2f} deg, "
            f"{row['s_one']:.1f} s -> {row['s_split']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    lines = [
        f"| clip | length | reps | faults | same verdicts | peak angle Δ median / max | "
        f"s one process / {args.workers} | speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        nf = sum(len(f) for f in r["full"]["rep_faults"])
        lines.append(
            f"| {r['clip']} | {r['duration_s']} s | {r['full']['reps']} → {r['low']['reps']} | "
            f"{nf} → {sum(len(f) for f in r['low']['rep_faults'])} | "
            f"{'yes' if r['same'] else 'NO: ' + ', '.join(r['differs'])} | "
            f"{r['peak_med']:.2f}° / {r['peak_max']:.2f}° | "
            f"{r['s_one']:.1f} / {r['s_split']:.1f} | "
            f"{r['s_one'] / r['s_split']:.2f}× |"
        )
    peaks = [abs(a - b) for r in rows for a, b in r["peaks"]]
    same = sum(r["same"] for r in rows)
    one, split = sum(r["s_one"] for r in rows), sum(r["s_split"] for r in rows)
    lines.append("")
    lines.append(
        f"{same}/{len(rows)} clips with the same verdicts; peak angle Δ over all paired reps: "
        f"median {np.median(peaks) if peaks else 0:.2f}°, max {max(peaks) if peaks else 0:.2f}°; "
        f"total {one:.0f} s → {split:.0f} s ({one / split:.2f}×)"
    )
    table = "\n".join(lines)
    print(table)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"segments_{args.name}.json").write_text(json.dumps(rows, indent=1))
    (out / f"segments_{args.name}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
