"""formcheck against the legacy MediaPipe pipeline of open-source form trainers (issue 22).

    python benchmarks/peers.py [VIDEO ...] [--rounds 3] [--clips]
                               [--variant LABEL=ARGS ...] [--no-default]

The legacy pipeline is what those trainers run: OpenCV decoding and ``mp.solutions.pose.Pose(
model_complexity=1)`` on every frame (landmarks only, no masks), with ``mediapipe==0.10.21``
in its own virtualenv (``benchmarks/results/peers-venv``, made with pip on the first run).
formcheck is ``python -m formcheck analyze VIDEO --no-video --out TMP`` from this checkout's
interpreter, once per ``--variant`` (``LABEL=extra analyze args``, e.g. ``auto=--fps auto``;
without ``--no-default`` also a run with no extra args).

Each run is its own process under ``/usr/bin/time`` (wall s, user+sys CPU s, peak resident
set of the largest process, MB); per video the pipelines take turns (A B A B …) for
``--rounds`` rounds, so a load change on the machine hits all alike. Prints a Markdown table
of medians and the speed-up against legacy (legacy wall / wall; above 1: formcheck faster).

``--clips`` adds four test clips to the videos, made once into ``benchmarks/results/`` with
imageio-ffmpeg's ffmpeg: ``clip720p30.mp4`` (the ``ht_partial_oblique_right`` sample, 960x540
30 fps, upscaled with lanczos, x264 crf 18), ``clip720p60.mp4`` (that clip
motion-interpolated to 60 fps with ``minterpolate`` mci: new in-between pictures, not
repeated frames), and ``clip1080p30.mp4``, ``clip1080p60.mp4`` (the sample and the 60 fps
clip upscaled to 1920x1080 the same way). Run it with ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
VENV = RESULTS / "peers-venv"
LEGACY_MP = "mediapipe==0.10.21"
SOURCE_CLIP = ROOT / "samples" / "ht_partial_oblique_right.mp4"
ENV = {**os.environ, "GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2"}

#: The legacy pipeline: decode every frame, convert to RGB, run Pose (complexity 1) on it.
LEGACY = """
import sys, cv2, mediapipe as mp
cap = cv2.VideoCapture(sys.argv[1])
n = found = 0
with mp.solutions.pose.Pose(model_complexity=1) as pose:
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        res = pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        n += 1
        found += res.pose_landmarks is not None
print(n, found)
"""


def legacy_python() -> Path:
    """The legacy virtualenv's interpreter, making the venv (pip, PyPI) on first use."""
    py = VENV / "bin" / "python"
    ok = VENV / ".ok"
    if ok.is_file():
        return py
    if not py.is_file():
        print(f"making {VENV} ({LEGACY_MP}) …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", LEGACY_MP], check=True)
    check = "import mediapipe as mp; mp.solutions.pose.Pose(model_complexity=1).close()"
    subprocess.run([str(py), "-c", check], check=True, env=ENV, capture_output=True)
    ok.write_text(LEGACY_MP + "\n")
    return py


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_clips() -> list[Path]:
    """The 720p30, 720p60, 1080p30 and 1080p60 test clips (see the module docstring), made once."""
    c30, c60 = RESULTS / "clip720p30.mp4", RESULTS / "clip720p60.mp4"
    c1080, c1080_60 = RESULTS / "clip1080p30.mp4", RESULTS / "clip1080p60.mp4"
    enc = ["-c:v", "libx264", "-crf", "18", "-preset", "medium", "-pix_fmt", "yuv420p", "-an"]
    steps = [
        (c30, ["-i", str(SOURCE_CLIP), "-vf", "scale=1280:720:flags=lanczos"]),
        (c60, ["-i", str(c30), "-vf", "minterpolate=fps=60:mi_mode=mci"]),
        (c1080, ["-i", str(SOURCE_CLIP), "-vf", "scale=1920:1080:flags=lanczos"]),
        (c1080_60, ["-i", str(c60), "-vf", "scale=1920:1080:flags=lanczos"]),
    ]
    for out, args in steps:
        if not out.is_file():
            print(f"making {out} …", file=sys.stderr)
            part = out.with_suffix(".part.mp4")
            subprocess.run(
                [ffmpeg(), "-y", "-loglevel", "error", *args, *enc, str(part)], check=True
            )
            part.rename(out)
    return [c30, c60, c1080, c1080_60]


def timed(cmd: list[str]) -> dict:
    """Run ``cmd`` under ``/usr/bin/time``: wall and CPU (s), peak RSS (MB), its stdout."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        fmt = "%e %U %S %M"
        p = subprocess.run(
            ["/usr/bin/time", "-f", fmt, "-o", tf.name, *cmd],
            capture_output=True,
            text=True,
            env=ENV,
        )
        if p.returncode:
            sys.exit(f"error: {shlex.join(cmd)} failed:\n{p.stderr[-1500:]}")
        wall, user, sys_, kb = tf.read().split()[-4:]
    return {
        "wall": float(wall),
        "cpu": float(user) + float(sys_),
        "rss": int(kb) / 1024,
        "out": p.stdout,
    }


def describe(video: Path) -> str:
    cap = cv2.VideoCapture(str(video))
    w, h, fps, n = (cap.get(k) for k in (3, 4, 5, 7))
    cap.release()
    return f"{video.name} ({int(w)}x{int(h)}, {fps:g} fps, {int(n)} frames)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clips", action="store_true", help="add the 720p/1080p 30/60 fps clips")
    ap.add_argument("--no-sample", action="store_true", help="without the demo sample")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL=ARGS",
        help="a formcheck run with these extra analyze args (repeatable)",
    )
    ap.add_argument("--no-default", action="store_true", help="no plain formcheck run")
    a = ap.parse_args(argv)
    videos = [] if a.no_sample else [ROOT / "samples" / "demo_hip_thrust.mp4"]
    videos += a.videos + (make_clips() if a.clips else [])
    variants = [] if a.no_default else [("formcheck", [])]
    for v in a.variant:
        label, _, args = v.partition("=")
        variants.append((f"formcheck {label}", shlex.split(args)))
    if not variants:
        ap.error("nothing to compare legacy with (--no-default and no --variant)")
    py = legacy_python()
    pipelines = [("legacy (mp.solutions, 0.10.21)", None)] + variants
    rows = []
    with tempfile.TemporaryDirectory(prefix="peers_") as tmp:
        for video in videos:
            runs: dict[str, list[dict]] = {name: [] for name, _ in pipelines}
            for r in range(a.rounds):
                for name, extra in pipelines:
                    if extra is None:
                        cmd = [str(py), "-c", LEGACY, str(video)]
                    else:
                        out = Path(tmp) / f"{r}"
                        cmd = [sys.executable, "-m", "formcheck", "analyze", str(video)]
                        cmd += ["--no-video", "-q", "--out", str(out), *extra]
                    res = timed(cmd)
                    runs[name].append(res)
                    print(
                        f"{video.name} round {r + 1} {name}: {res['wall']:.1f} s wall, "
                        f"{res['cpu']:.1f} s cpu, {res['rss']:.0f} MB",
                        file=sys.stderr,
                    )
            base = statistics.median(x["wall"] for x in runs[pipelines[0][0]])
            for name, _ in pipelines:
                med = {
                    k: statistics.median(x[k] for x in runs[name]) for k in ("wall", "cpu", "rss")
                }
                rows.append((describe(video), name, med, base / med["wall"]))
    print(f"medians of {a.rounds} alternating rounds\n")
    print("| video | pipeline | wall s | cpu s | peak RSS MB | speed vs legacy |")
    print("|---|---|---|---|---|---|")
    for video, name, m, speed in rows:
        print(
            f"| {video} | {name} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['rss']:.0f} "
            f"| {speed:.2f}× |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
