"""Live-mode speed: a sample clip played as a 30 fps camera through ``formcheck live``.

    python benchmarks/live.py [samples/ht_faults_right.mp4] [--fps 30] [--size 640x480]
                              [--model full] [--screenshot docs/img/live.png]

The clip is first resampled to ``--fps`` and letterboxed to ``--size`` (a temporary file), then
played in real time by the live loop (reader thread → newest frame → model thread → overlay),
with no window (``--window``: the real full-screen window) and no sound. Prints one table:

- processed fps (frames that went through the model, per second of wall time);
- dropped-frame share (frames the model had no time for: skipped, never queued);
- camera-frame-to-overlay latency, p50 and p95 (frame read → overlay drawn);
- model time per frame, p50 and p95;
- per labelled fault: the time from the fault frame (its scheduled capture time) to the cue,
  split into the detection delay (frame at which the cue's condition was met, minus the fault
  frame) and the system delay (cue fired, minus that frame's capture time).

Targets on the 2-core dev machine, full model, 640x480: >= 25 fps processed, p95 latency
<= 100 ms, cue <= 300 ms after the fault frame.

``--replay DIR`` instead feeds saved tracks of the labelled samples (``<name>*.track.npz``)
to the live analyser without the model and lists, per labelled fault, when its cue fired
(``--labels DIR``: labelled clips elsewhere, e.g. a rendered set).

``--screenshot PATH`` also saves the overlay ~0.6 s after the first fault cue (the image in
docs/live.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from frames import read_frames  # noqa: E402

os.environ.setdefault("GLOG_minloglevel", "2")

ROOT = Path(__file__).resolve().parents[1]
FAULT_FRAME = {
    "sag": "top_start_frame",
    "hyperextension": "top_start_frame",
    "lumbar_arch": "top_start_frame",
    "heel_lift": "top_start_frame",
    "short_hold": "top_end_frame",
    "fast_lowering": "top_end_frame",
}


def resample(src: Path, dst: Path, fps: float, size: tuple[int, int]) -> tuple[float, int]:
    """Write ``src`` at ``fps`` (nearest frame in time), letterboxed into ``size``."""
    import cv2
    import numpy as np

    frames, fps_in = read_frames(src)
    w, h = size
    ih, iw = frames[0].shape[:2]
    scale = min(w / iw, h / ih)
    nw, nh = int(round(iw * scale)), int(round(ih * scale))
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    n_out = int(len(frames) / fps_in * fps)
    wr = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    canvas = np.zeros((h, w, 3), np.uint8)
    for j in range(n_out):
        k = min(len(frames) - 1, int(round(j * fps_in / fps)))
        canvas[:] = 0
        canvas[y0 : y0 + nh, x0 : x0 + nw] = cv2.resize(
            frames[k], (nw, nh), interpolation=cv2.INTER_AREA
        )
        wr.write(canvas)
    wr.release()
    return fps_in, n_out


def replay(tracks: Path, drop: float = 0.0, labels: Path | None = None) -> None:
    """Cue timing on saved tracks of labelled clips (``labels``: their folder, default
    samples/), no model: each track is fed frame by
    frame to the live analyser (``drop``: share of frames skipped at random, as the live loop
    would), and every labelled fault is matched with its cue. Also compares the live verdicts
    with the offline analysis of the same track."""
    import numpy as np

    from formcheck.analysis import analyze_track
    from formcheck.core.rules import load_profile
    from formcheck.core.track import PoseTrack
    from formcheck.live.engine import LiveAnalyzer
    from formcheck.pose.estimator import FramePose

    rng = np.random.default_rng(0)
    print(f"{'clip':<26} {'rep':>3}  {'fault':<15} {'label s':>8} {'cue s':>7} {'delay':>7}")
    delays, missed, extra, agree, total = [], 0, 0, 0, 0
    counts_equal = 0
    for lp in sorted((labels or ROOT / "samples").glob("*.label.json")):
        label = json.loads(lp.read_text())
        if not label.get("exercise"):
            continue
        name = label["name"]
        found = sorted(tracks.glob(f"{name}*.track.npz"))
        if not found:
            continue
        tr = PoseTrack.from_npz(found[0])
        prof = load_profile(label["exercise"])
        an = LiveAnalyzer(prof, tr.fps, tr.width, tr.height, mask_scale=tr.mask_scale)
        for i in range(tr.n_frames):
            if 0 < i < tr.n_frames - 1 and rng.random() < drop:
                continue
            det = np.isfinite(tr.image[i, 0, 0])
            fp = (
                FramePose(
                    tr.image[i],
                    tr.world[i],
                    tr.visibility[i],
                    tr.presence[i],
                    tr.masks[i] if tr.masks is not None else None,
                )
                if det
                else None
            )
            an.update(i, fp, 120.0)
        an.finish()
        off = analyze_track(tr, prof).session
        total += 1
        agree += [r.faults for r in an.reps] == [r.faults for r in off.reps]
        counts_equal += len(an.reps) == len(label["reps"])
        fps = label["fps"]
        used = set()
        for rep in label["reps"]:
            for rule in rep["faults"]:
                t_f = rep[FAULT_FRAME[rule]] / fps
                near = [c for c in an.cues if c.rule == rule and -0.6 <= c.time_s - t_f <= 1.5]
                if not near:
                    missed += 1
                    print(
                        f"{name:<26} {rep['index'] + 1:>3}  {rule:<15} {t_f:8.2f} {'-':>7} "
                        f"{'missed':>7}"
                    )
                    continue
                c = min(near, key=lambda c: abs(c.time_s - t_f))
                used.add(id(c))
                delays.append(c.time_s - t_f)
                print(
                    f"{name:<26} {rep['index'] + 1:>3}  {rule:<15} {t_f:8.2f} "
                    f"{c.time_s:7.2f} {(c.time_s - t_f) * 1000:+6.0f}ms"
                )
        for c in an.cues:
            if c.kind == "fault" and id(c) not in used:
                why = "extra"
                if any(
                    a["start_frame"] / fps - 0.5 <= c.time_s <= a["end_frame"] / fps
                    for a in label.get("attempts", [])
                ):
                    why = "extra (a labelled partial rep)"
                elif any(
                    r.start_s - 0.5 <= c.time_s <= r.end_s and c.rule in r.faults for r in off.reps
                ):
                    why = "extra (offline analysis flags it too)"
                else:
                    extra += 1
                print(f"{name:<26} {'':>3}  {c.rule:<15} {'(none)':>8} {c.time_s:7.2f}   {why}")

    d = np.asarray(delays) * 1000
    if d.size:
        print(
            f"\nlabelled faults cued: {d.size}, missed: {missed}; cue - fault frame: "
            f"median {np.median(d):+.0f} ms, max {d.max():+.0f} ms, within 0.5 s: "
            f"{np.mean(np.abs(d) <= 500):.0%}; other fault cues (no label, not offline): "
            f"{extra}; "
            f"live verdicts equal to offline on {agree}/{total} clips; live rep count "
            f"equal to the label's on {counts_equal}/{total}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", type=Path, nargs="?", default=ROOT / "samples/ht_faults_right.mp4")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--model", default="full")
    ap.add_argument("--exercise", default=None, help="default: from the label, else hip_thrust")
    ap.add_argument("--screenshot", type=Path, default=None)
    ap.add_argument(
        "--window",
        action="store_true",
        help="show the real full-screen window (needs $DISPLAY, e.g. Xvfb at 1920x1080): the "
        "latency then includes drawing at the window's size and showing it",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    ap.add_argument(
        "--replay",
        type=Path,
        default=None,
        metavar="DIR",
        help="no model: cue timing on saved <sample>*.track.npz in DIR",
    )
    ap.add_argument("--drop", type=float, default=0.0, help="with --replay: share dropped")
    ap.add_argument(
        "--labels",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --replay: the clips' label folder (default samples/)",
    )
    args = ap.parse_args()
    if args.replay is not None:
        replay(args.replay, args.drop, args.labels)
        return

    import numpy as np

    from formcheck.live.app import run_live
    from formcheck.pose.native_log import quiet_native_stderr

    w, h = (int(v) for v in args.size.lower().split("x"))
    label_path = args.video.with_suffix("").with_suffix(".label.json")
    label = json.loads(label_path.read_text()) if label_path.exists() else None
    exercise = args.exercise or (label or {}).get("exercise", "hip_thrust")
    shot = {"at": None, "done": False}

    def on_overlay(img, p):
        if args.screenshot is None or shot["done"]:
            return
        faults = [c for c in p.state.cues if c.kind == "fault"]
        if shot["at"] is None and faults:
            shot["at"] = p.frame.t_s + 0.6
        if shot["at"] is not None and p.frame.t_s >= shot["at"]:
            import cv2

            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.screenshot), img)
            shot["done"] = True

    with tempfile.TemporaryDirectory() as tmp, quiet_native_stderr():
        clip = Path(tmp) / f"{args.video.stem}.mp4"
        fps_in, n = resample(args.video, clip, args.fps, (w, h))
        print(
            f"{args.video.name}: {n} frames at {args.fps:g} fps, {w}x{h} (letterboxed), "
            f"model {args.model}, {os.cpu_count()} CPUs"
            + (f", full-screen window on {os.environ.get('DISPLAY')}" if args.window else ""),
            file=sys.stderr,
        )
        res = run_live(
            str(clip),
            exercise=exercise,
            model=args.model,
            out_dir=None,
            display=args.window,
            sound="off",
            on_overlay=on_overlay,
            log=lambda m: None,
        )
    st = res.stats.to_dict()
    rows = [
        ("processed fps", f"{st['processed_fps']:.1f}", ">= 25"),
        ("dropped-frame share", f"{st['dropped_share']:.1%}", ""),
        ("latency frame->overlay p50", f"{st['latency_ms_p50']:.0f} ms", ""),
        ("latency frame->overlay p95", f"{st['latency_ms_p95']:.0f} ms", "<= 100 ms"),
        ("model time p50 / p95", f"{st['model_ms_p50']:.0f} / {st['model_ms_p95']:.0f} ms", ""),
    ]
    cue_rows = []
    delays = []
    if label is not None:
        scale = args.fps / fps_in
        faults = [c for c in res.cues if c.kind == "fault"]
        for rep in label["reps"]:
            for rule in rep["faults"]:
                t_fault = rep[FAULT_FRAME[rule]] * scale / args.fps
                near = [c for c in faults if c.rule == rule and -0.5 <= c.time_s - t_fault <= 1.5]
                if not near:
                    cue_rows.append((f"rep {rep['index'] + 1} {rule}", "no cue", ""))
                    continue
                c = min(near, key=lambda c: abs(c.time_s - t_fault))
                total = (c.wall_s - t_fault) * 1000
                delays.append(total)
                cue_rows.append(
                    (
                        f"rep {rep['index'] + 1} {rule}",
                        f"{total:+.0f} ms (detect {(c.time_s - t_fault) * 1000:+.0f}, "
                        f"system {(c.wall_s - c.time_s) * 1000:+.0f})",
                        "<= 300 ms",
                    )
                )
    if delays:
        rows.append(
            (
                "fault -> cue, median / max",
                f"{np.median(delays):+.0f} / {np.max(delays):+.0f} ms",
                "<= 300 ms",
            )
        )
    rows += cue_rows
    rows.append(
        (
            "live reps / faults",
            f"{len(res.reps)} / " + (", ".join(",".join(r.faults) or "-" for r in res.reps)),
            "",
        )
    )
    saved = res.analysis.session
    rows.append(
        (
            "saved (offline) reps / faults",
            f"{saved.rep_count} / " + (", ".join(",".join(r.faults) or "-" for r in saved.reps)),
            "",
        )
    )
    rows.append(
        ("live peak angles (deg)", " ".join(f"{r.peak_angle_deg:.1f}" for r in res.reps), "")
    )
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'value':<{vwidth}}  target")
    print(f"{'-' * width}  {'-' * vwidth}  ------")
    for name, val, tgt in rows:
        print(f"{name:<{width}}  {val:<{vwidth}}  {tgt}")
    if args.json:
        args.json.write_text(
            json.dumps({"stats": st, "fault_to_cue_ms": delays, "rows": rows}, indent=2)
        )
    if args.screenshot is not None:
        print(
            f"screenshot: {args.screenshot}" if shot["done"] else "no screenshot taken",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
