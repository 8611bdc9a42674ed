"""Fit the bias a barbell's plate adds over the hidden hip, and (with --write) ship it.

    python benchmarks/calibrate_plate.py DIR [DIR ...] [--split calibration|all] [--write]

Under a barbell MediaPipe draws the hidden hip landmark towards the plate's centre, so the
raw shoulder–hip–knee angle reads higher than the exercise's bias model (fitted on unloaded
sets by ``benchmarks/calibrate.py``) expects. For every labelled clip in DIR whose plate rim
was fitted (``load.kind == "barbell"``), every rep matched to a label whose spine is straight
(labelled lumbar extension under 8 deg) gives ``estimated peak − true peak`` with the shipped
model and no plate term; the plate term is the median over sets of each set's median, so a
long set weighs as much as a short one, pooled over both exercises. ``--write`` puts it into
``src/formcheck/calibration.toml`` as ``[plate] bias_deg`` (``calibrate.py --write`` keeps that
table). The clips fitted on must not be the clips scored: ``docs/accuracy.md`` says which.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import ROOT, cached_track, load_labels, match  # noqa: E402

TOML = Path(__file__).resolve().parents[1] / "src" / "formcheck" / "calibration.toml"
STRAIGHT_SPINE_MAX_DEG = 8.0
#: Where the plate table starts in calibration.toml (calibrate.py keeps what follows).
MARKER = "# --- plate"


def set_errors(folder: Path, split: str, cache: Path) -> list[tuple[str, str, list[float]]]:
    """Per fitted-barbell clip: its name, exercise and the straight reps' peak errors (deg)."""
    from formcheck.analysis import analyze_track
    from formcheck.core.bias import load_bias_model
    from formcheck.core.rules import load_profile

    out = []
    for lab in load_labels(folder, split):
        if (lab.get("load") or {}).get("kind", "none") == "none":
            continue
        track = cached_track(lab["_video"], cache)
        model = replace(load_bias_model(lab["exercise"]), plate_deg=0.0)
        s = analyze_track(track, load_profile(lab["exercise"]), bias_model=model).session
        if s.load_info.kind != "barbell":
            continue
        pred = [r.to_dict() for r in s.reps + s.attempts]
        truth = lab["reps"] + lab.get("attempts", [])
        errs = [
            pred[i]["peak_angle_deg"] - truth[j]["peak_angle_deg"]
            for i, j in match(pred, truth, float(lab["fps"]))
            if i is not None
            and j is not None
            and truth[j].get("lumbar_extension_deg", 0.0) < STRAIGHT_SPINE_MAX_DEG
        ]
        if errs:
            out.append((lab["name"], lab["exercise"], errs))
    return out


def plate_block(value: float, sets: list, names: str) -> str:
    per_ex = {
        ex: float(np.median([np.median(e) for _, x, e in sets if x == ex]))
        for ex in sorted({x for _, x, _ in sets})
    }
    return "\n".join(
        [
            MARKER,
            "# A barbell's plate fitted over the hip: MediaPipe draws the hidden hip towards the",
            "# plate's centre and the raw angle reads this much higher (added to the bias).",
            f"# Fitted by benchmarks/calibrate_plate.py on {names}: {len(sets)} sets, median of "
            "the per-set median peak error ("
            + ", ".join(f"{k} {v:+.1f}" for k, v in per_ex.items())
            + ").",
            "[plate]",
            f"bias_deg = {value:.4f}",
            "",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--split", default="calibration")
    ap.add_argument("--cache", type=Path, default=ROOT / "results" / "tracks")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    sets = []
    for d in args.dirs:
        sets += set_errors(d, args.split, args.cache / d.name)
    if not sets:
        raise SystemExit("no set with a fitted barbell plate: nothing to fit")
    print("| clip | exercise | straight reps | median peak error without the plate term |")
    print("|---|---|---|---|")
    for name, ex, errs in sets:
        print(f"| {name} | {ex} | {len(errs)} | {np.median(errs):+.1f}° |")
    value = float(np.median([np.median(e) for _, _, e in sets]))
    print(f"\nplate bias_deg = {value:.2f} ({len(sets)} sets)")
    names = "+".join(d.name for d in args.dirs) + f" (split {args.split})"
    if args.write:
        text = TOML.read_text()
        text = text.split(MARKER)[0].rstrip("\n") + "\n\n" + plate_block(value, sets, names)
        TOML.write_text(re.sub(r"\n{3,}", "\n\n", text))
        print(f"wrote [plate] into {TOML}")


if __name__ == "__main__":
    main()
