"""Pipeline speed on one video: decode, model, full `analyze`, and analysis after the model.

    python benchmarks/pipeline.py samples/demo_hip_thrust.mp4 [--frames N] [--repeat R]

Prints one table, every figure measured side by side in this run (this machine is noisy):
- decode-only fps (OpenCV, sequential);
- model-only fps on frames decoded beforehand (PoseLandmarker VIDEO mode), as analyze feeds
  them (shrunk to ``MODEL_MAX_SIDE``) and whole, side by side;
- the circle search (weight plates' rims, :mod:`formcheck.pose.circles`) per frame analysed,
  alone, and full analyze with it switched off (a second pass made only for a loaded set);
- the decode+model limit, 1 / (1/decode + 1/model): what a sequential loop could reach;
- full analyze fps, with and without the annotated video, and its share of that limit
  (target >= 90 %; decoding runs on its own thread, so it can exceed 100 %);
- analysis time after the model (filtering, angles, reps, rules) per 1,000 frames, and its
  share of the full wall time (target <= 1 %).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from frames import read_frames  # noqa: E402

os.environ.setdefault("GLOG_minloglevel", "2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--frames", type=int, default=0, help="use only the first N frames (0: all)")
    ap.add_argument("--repeat", type=int, default=1, help="repeat each measurement, keep best")
    ap.add_argument("--model", default="full")
    args = ap.parse_args()

    import cv2

    from formcheck.analysis import analyze_track, analyze_video
    from formcheck.core.rules import load_profile
    from formcheck.pose.estimator import MODEL_MAX_SIDE, PoseEstimator, PoseOptions
    from formcheck.pose.native_log import quiet_native_stderr
    from formcheck.pose.video import probe_video
    from formcheck.sinks.files import write_outputs

    info = probe_video(args.video)

    def decode(limit=0):
        return read_frames(args.video, limit)[0]

    def best(fn):
        times = []
        out = None
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    with quiet_native_stderr():
        t_dec, frames = best(lambda: decode(args.frames))
        n = len(frames)

        def model_only():
            for i, f in enumerate(frames):
                est.process(f, base[0] + int(i * 1000 / info.fps))
            base[0] += int(n * 1000 / info.fps) + 1000

        base = [0]
        with PoseEstimator(args.model, PoseOptions()) as est:  # creation not timed
            t_model, _ = best(model_only)
        with PoseEstimator(args.model, PoseOptions(max_side=None)) as est:
            t_model_whole, _ = best(model_only)
        with PoseEstimator(args.model, PoseOptions()) as est:  # again: a load change hits both
            t_model = min(t_model, best(model_only)[0])
        from formcheck.pose.circles import find_circles
        from formcheck.pose.estimator import CIRCLES_EVERY

        t_circ, _ = best(lambda: [find_circles(f) for f in frames[::CIRCLES_EVERY]])
        clip = args.video
        if args.frames and args.frames < info.frame_count:  # analyse the same frames only
            tmpd = tempfile.mkdtemp()
            clip = Path(tmpd) / "clip.mp4"
            w = cv2.VideoWriter(
                str(clip), cv2.VideoWriter_fourcc(*"mp4v"), info.fps, (info.width, info.height)
            )
            for f in frames:
                w.write(f)
            w.release()

        def full(out: str, write_video: bool, options: PoseOptions | None = None):
            a = analyze_video(clip, model=args.model, pose_options=options)
            write_outputs(a, out, video_path=clip, write_video=write_video)
            return a

        with tempfile.TemporaryDirectory() as out:
            t_full_nv, a = best(lambda: full(out, False))
        with tempfile.TemporaryDirectory() as out:
            no_circles = PoseOptions(circles_every=0)
            t_full_nc, _ = best(lambda: full(out, False, no_circles))
        with tempfile.TemporaryDirectory() as out:  # again: a load change hits both
            t_full_nv = min(t_full_nv, best(lambda: full(out, False))[0])
        with tempfile.TemporaryDirectory() as out:
            t_full_v, _ = best(lambda: full(out, True))
        profile = load_profile("hip_thrust")
        reps = max(3, args.repeat)
        t_an, _ = best(lambda: [analyze_track(a.track, profile) for _ in range(reps)])
        t_an /= reps

    fps = lambda t: n / t  # noqa: E731
    limit = 1.0 / (1.0 / fps(t_dec) + 1.0 / fps(t_model))
    rows = [
        (
            "frames",
            f"{n}",
            f"{info.width}x{info.height} @ {info.fps:g} fps, {os.cpu_count()} cores",
        ),
        ("decode only", f"{fps(t_dec):.1f} fps", "OpenCV, sequential"),
        (
            "model only",
            f"{fps(t_model):.1f} fps",
            f"pre-decoded frames, VIDEO mode, masks on, longest side <= {MODEL_MAX_SIDE} px",
        ),
        (
            "model only, frames whole",
            f"{fps(t_model_whole):.1f} fps",
            f"the same frames not shrunk: {t_model_whole / t_model:.2f}x the time",
        ),
        (
            "circle search",
            f"{1000 * t_circ / n:.2f} ms / frame",
            f"plate rims, one frame in {CIRCLES_EVERY}, alone: {100 * t_circ / t_model:.1f} % "
            "of the model's time (a second pass, only for a set with a weight)",
        ),
        ("decode+model limit", f"{limit:.1f} fps", "1/(1/decode + 1/model)"),
        (
            "analyze --no-video",
            f"{fps(t_full_nv):.1f} fps",
            f"{100 * fps(t_full_nv) / limit:.0f} % of the limit (target >= 90 %)",
        ),
        (
            "analyze --no-video, no circles",
            f"{fps(t_full_nc):.1f} fps",
            f"the circle search off: analyze takes {t_full_nv / t_full_nc:.2f}x this time "
            f"(this video {'has' if a.session.load_info.kind != 'none' else 'has no'} weight)",
        ),
        (
            "analyze (with video)",
            f"{fps(t_full_v):.1f} fps",
            f"{100 * fps(t_full_v) / limit:.0f} % of the limit (annotated video is a 2nd pass)",
        ),
        (
            "analysis after model",
            f"{1000 * t_an / n * 1000:.1f} ms / 1000 frames",
            f"{100 * t_an / t_full_nv:.2f} % of analyze wall time (target <= 1 %)",
        ),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'measure'.ljust(w0)}  {'value'.ljust(w1)}  note")
    print(f"{'-' * w0}  {'-' * w1}  ----")
    for r in rows:
        print(f"{r[0].ljust(w0)}  {r[1].ljust(w1)}  {r[2]}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
