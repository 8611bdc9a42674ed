"""Does the analysis hold up at lower frame rates? Scores labelled clips at their own rate and
with frames dropped, side by side.

    python benchmarks/framerate.py DIR [DIR ...] [--split test] [--fps 15 10 7]

For each target rate the saved track (``benchmarks/results/tracks/<set>/``, as made by
``accuracy.py``) keeps every ``round(fps / target)``-th frame (``fps`` divided to match) and is
analysed and scored as ``accuracy.py`` does. MediaPipe's full-rate tracking and smoothing are
kept (the model is not re-run at the lower rate), so this measures the analysis (filtering,
segmentation, timing, rules) at low frame rates, not the landmarks. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import ROOT, cached_track, load_labels, score_clip, summarise  # noqa: E402
from formcheck.analysis import analyze_track  # noqa: E402
from formcheck.core.track import PoseTrack  # noqa: E402

FAULTS = ("sag", "hyperextension", "short_hold", "fast_lowering", "heel_lift")


def subsample(track: PoseTrack, step: int) -> PoseTrack:
    """Every ``step``-th frame of ``track``, at ``fps / step``."""
    idx = np.arange(0, track.n_frames, step)
    return replace(
        track,
        image=track.image[idx],
        world=track.world[idx],
        visibility=track.visibility[idx],
        presence=track.presence[idx],
        t_s=track.t_s[idx],
        fps=track.fps / step,
        masks=None if track.masks is None else track.masks[idx],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--fps", nargs="+", type=float, default=[15.0, 10.0, 7.0])
    a = ap.parse_args()
    labels = [(lab, d) for d in a.dirs for lab in load_labels(d, a.split)]
    if not labels:
        raise SystemExit(f"no labelled clips (split {a.split}) in {', '.join(map(str, a.dirs))}")
    levels = [None] + a.fps
    clips: dict = {lv: [] for lv in levels}
    rates: dict = {lv: [] for lv in levels}
    for lab, d in labels:
        track = cached_track(lab["_video"], ROOT / "results" / "tracks" / d.name)
        for lv in levels:
            step = 1 if lv is None else max(1, int(round(track.fps / lv)))
            t = track if step == 1 else subsample(track, step)
            rates[lv].append(t.fps)
            clips[lv].append(score_clip(lab, analyze_track(t, lab["exercise"]).session))
    print(f"{len(labels)} clips from {', '.join(d.name for d in a.dirs)} (split {a.split})\n")
    head = [
        "frame rate",
        "count exact",
        "peak angle median abs error",
        "hold / lowering median abs error",
    ] + [f"`{f}` clear-cut TP/FP/FN" for f in FAULTS]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for lv in levels:
        s = summarise(clips[lv])
        name = "as recorded" if lv is None else f"~{lv:g} fps"
        cells = [
            f"{name} ({min(rates[lv]):.3g}–{max(rates[lv]):.3g} fps)",
            f"{100 * s['count_exact']:.1f} %",
            f"{s['peak_angle_medae_deg']:.1f}°",
            f"{s['hold_medae_s']:.2f} / {s['lowering_medae_s']:.2f} s",
        ]
        cells += ["{tp}/{fp}/{fn}".format(**s["faults_clear_cut"][f]) for f in FAULTS]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
