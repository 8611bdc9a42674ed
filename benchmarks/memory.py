"""Peak memory of ``formcheck analyze --no-video`` against the video's length (issue 19/22).

Makes 480x270, 15 fps videos of the given lengths by looping a sample (default the demo
clip) with the ffmpeg that imageio-ffmpeg ships (x264 ultrafast, a few seconds each), then runs
``python -m formcheck analyze VIDEO --no-video -q`` on each in its own subprocess and reads
that child's peak resident set size (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, the
largest child so far, so each run is measured from a fresh helper process). Prints a table
with the ratio to the shortest video.

    python benchmarks/memory.py                 # 1, 5 and 20 minutes
    python benchmarks/memory.py --minutes 1 5   # a quicker check

The code measured is whatever ``python -m formcheck`` imports: set ``PYTHONPATH`` to another
checkout's ``src`` to measure that one. Videos are kept in ``--work`` and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "demo_hip_thrust.mp4"
SIZE, FPS = (480, 270), 15

#: Run in a fresh interpreter so that RUSAGE_CHILDREN covers this one run only.
_CHILD = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
rc = p.returncode
if rc:
    sys.stderr.write(p.stderr[-2000:])
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": rc, "peak_kb": kb, "s": time.perf_counter() - t}))
"""


def make_video(path: Path, minutes: float, sample: Path = SAMPLE) -> Path:
    """A ``minutes``-long 480x270 15 fps H.264 video looping ``sample`` (reused if present)."""
    if path.exists() and path.stat().st_size > 0:
        return path
    import imageio_ffmpeg

    tmp = path.with_suffix(".part.mp4")
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-y",
        "-stream_loop",
        "-1",
        "-i",
        str(sample),
        "-t",
        f"{minutes * 60:.3f}",
        "-an",
        "-vf",
        f"scale={SIZE[0]}:{SIZE[1]},fps={FPS}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(tmp),
    ]
    subprocess.run(cmd, check=True)
    tmp.replace(path)
    return path


def peak_rss(video: Path, out: Path, extra: list[str]) -> dict:
    """Run ``formcheck analyze`` on ``video`` in a subprocess: exit code, peak RSS, seconds."""
    cmd = [sys.executable, "-m", "formcheck", "analyze", str(video), "--out", str(out)]
    cmd += ["--no-video", "-q", *extra]
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, *cmd], stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 20])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "formcheck-mem")
    ap.add_argument("--sample", type=Path, default=SAMPLE)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("extra", nargs="*", help="more `formcheck analyze` options (after --)")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for m in a.minutes:
        t = time.perf_counter()
        video = make_video(a.work / f"loop_{m:g}min.mp4", m, a.sample)
        made = time.perf_counter() - t
        r = peak_rss(video, a.work / f"out_{m:g}min", a.extra)
        r.update(minutes=m, frames=round(m * 60 * FPS), make_s=made)
        rows.append(r)
        print(
            f"{m:g} min: exit {r['rc']}, peak {r['peak_kb'] / 1024:.0f} MB, "
            f"{r['s']:.0f} s (video made in {made:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
    base = rows[0]["peak_kb"]
    print(f"{'minutes':>8} {'frames':>7} {'peak RSS MB':>12} {'ratio':>6} {'run s':>6} {'exit':>5}")
    for r in rows:
        print(
            f"{r['minutes']:>8g} {r['frames']:>7} {r['peak_kb'] / 1024:>12.0f} "
            f"{r['peak_kb'] / base:>6.2f} {r['s']:>6.0f} {r['rc']:>5}"
        )
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
