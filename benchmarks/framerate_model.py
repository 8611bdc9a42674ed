"""Same verdicts at a lower analysis rate? The real model run at every frame and at every N-th.

    python benchmarks/framerate_model.py [PATH ...] [--every 2 3] [--no-auto] [--full-cache DIR]

PATH: videos or folders of ``*.mp4`` (default ``samples/``). Each video is analysed as
``formcheck analyze`` does (``analyze_video``, ``--exercise auto``) at full rate and with the
model on every N-th frame only (``--every``, default 2, plus the ``--fps auto`` step,
:func:`formcheck.pose.rate.analysis_step`), the frames between interpolated. Unlike
``framerate.py`` (which drops frames from a full-rate track) the model itself runs at the
lower rate, so its tracking and smoothing are part of what is measured.

Compared per clip: exercise, rep count, attempts, each rep's faults and the set-level
findings (all must be equal: "same verdicts"), and the reps' peak angle and hold time (median
and largest absolute difference, reps paired in order). ``--full-cache DIR``: take the
full-rate track from ``DIR/<stem>-<size>-<mtime>.track.npz`` when there (as ``accuracy.py``
saves them; ``--rotate 0`` is then used for the lower rates too). Prints a Markdown table
and writes ``benchmarks/results/framerate_model.json``.
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

from formcheck.analysis import analyze_track, analyze_video, resolve_profile  # noqa: E402
from formcheck.core.track import PoseTrack  # noqa: E402
from formcheck.pose.estimator import PoseEstimator  # noqa: E402
from formcheck.pose.native_log import quiet_native_stderr  # noqa: E402
from formcheck.pose.rate import analysis_step  # noqa: E402
from formcheck.pose.video import probe_video  # noqa: E402


def verdict(session) -> dict:
    """What must not change: exercise, counts, faults per rep, set-level findings."""
    return {
        "exercise": session.exercise,
        "reps": session.rep_count,
        "attempts": len(session.attempts),
        "rep_faults": [sorted(r.faults) for r in session.reps],
        "set_findings": sorted(f.rule for f in session.set_findings),
    }


def differences(full, low) -> dict:
    """Verdict equality and the peak-angle / hold differences of reps paired in order."""
    va, vb = verdict(full), verdict(low)
    pairs = list(zip(full.reps, low.reps, strict=False))
    peak = [abs(a.peak_angle_deg - b.peak_angle_deg) for a, b in pairs]
    hold = [abs(a.hold_s - b.hold_s) for a, b in pairs]
    what = [k for k in va if va[k] != vb[k]]
    return {
        "same": not what,
        "differs": what,
        "full": va,
        "low": vb,
        "peak_med": float(np.median(peak)) if peak else 0.0,
        "peak_max": float(max(peak)) if peak else 0.0,
        "hold_med": float(np.median(hold)) if hold else 0.0,
        "peaks": [[a.peak_angle_deg, b.peak_angle_deg] for a, b in pairs],
    }


def cached(video: Path, cache: Path | None) -> Path | None:
    if cache is None:
        return None
    st = video.stat()
    p = cache / f"{video.stem}-{st.st_size}-{int(st.st_mtime)}.track.npz"
    return p if p.is_file() else None


def videos_in(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        out += sorted(p.glob("*.mp4")) if p.is_dir() else [p]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path, default=[ROOT / "samples"])
    ap.add_argument("--every", nargs="+", type=int, default=[2])
    ap.add_argument("--no-auto", action="store_true", help="without the --fps auto step")
    ap.add_argument("--full-cache", type=Path, help="full-rate tracks saved by accuracy.py")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/framerate_model.json")
    a = ap.parse_args(argv)
    rows = []
    with PoseEstimator("full") as est, quiet_native_stderr():
        for video in videos_in(a.paths):
            info = probe_video(video)
            steps = set(a.every) | (set() if a.no_auto else {analysis_step(info.fps, None, "auto")})
            steps.discard(1)
            track = cached(video, a.full_cache)
            rotate = 0 if track else "auto"
            t0 = time.perf_counter()
            if track:
                full = analyze_track(PoseTrack.from_npz(track), resolve_profile("auto"))
            else:
                full = analyze_video(video, exercise="auto", estimator=est, info=info, step=1)
            t_full = time.perf_counter() - t0
            for s in sorted(steps):
                t0 = time.perf_counter()
                low = analyze_video(
                    video, exercise="auto", estimator=est, info=info, rotate=rotate, step=s
                )
                d = differences(full.session, low.session)
                d.update(
                    clip=video.name,
                    fps=info.fps,
                    step=s,
                    cached_full=bool(track),
                    s_full=t_full,
                    s_low=time.perf_counter() - t0,
                )
                rows.append(d)
                what = "same" if d["same"] else f"DIFFERS {d['differs']}"
                print(
                    f"{video.name} every {s}: {what}, peak Δ median {d['peak_med']:.2f}° "
                    f"max {d['peak_max']:.2f}°",
                    file=sys.stderr,
                )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows))
    return 0 if all(r["same"] for r in rows) else 1


def table(rows: list[dict]) -> str:
    head = "| clip | fps | every | analysis fps | reps (full → low) | faults (full → low) "
    head += "| same verdicts | peak angle Δ median / max | hold Δ median | s full / low |"
    out = [head, "|" + "---|" * 10]
    for r in rows:
        fa, fb = r["full"], r["low"]
        nf = sum(map(len, fa["rep_faults"])) + len(fa["set_findings"])
        nl = sum(map(len, fb["rep_faults"])) + len(fb["set_findings"])
        same = "yes" if r["same"] else "NO: " + ", ".join(r["differs"])
        out.append(
            f"| {r['clip']} | {r['fps']:g} | {r['step']} | {r['fps'] / r['step']:.1f} "
            f"| {fa['reps']} → {fb['reps']} | {nf} → {nl} | {same} "
            f"| {r['peak_med']:.2f}° / {r['peak_max']:.2f}° | {r['hold_med']:.2f} s "
            f"| {r['s_full']:.0f} / {r['s_low']:.0f} |"
        )
    n = sum(r["same"] for r in rows)
    peaks = [abs(x - y) for r in rows for x, y in r["peaks"]]
    out.append(
        f"\n{n}/{len(rows)} runs with the same verdicts; peak angle Δ over all paired reps: "
        f"median {np.median(peaks) if peaks else 0:.2f}°, max {max(peaks, default=0):.2f}°"
    )
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
