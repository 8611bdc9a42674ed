"""Review app under load: start-up with many result files, and the sets page under concurrency.

    python benchmarks/review_load.py [--sets 2000] [--clients 8] [--requests 25] [--dir DIR]

Makes ``--sets`` result files (one synthetic analysis, copied with different names, athletes
and dates; ``--dir`` keeps them for another run), then, against a fresh store:

1. starts ``formcheck review DIR --no-prepare`` on 127.0.0.1 and times the first ``200`` of
   ``GET /`` (the start time) and the moment the store holds every set (the import time);
2. ``--clients`` threads each request the first page of the sets list ``--requests`` times
   (one connection per request) and reports the latency percentiles;
3. restarts the command on the same store (nothing new to import) and times the first page.

Nothing but 127.0.0.1 is contacted. The machine may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_results(folder: Path, n: int) -> None:
    """``n`` result files under ``folder/athleteK/`` (20 athletes, dates over 100 days)."""
    from formcheck.analysis import analyze_track
    from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
    from formcheck.fsutil import atomic_write_text
    from formcheck.sinks.files import write_outputs

    if len(list(folder.rglob("*.json"))) >= n:
        return
    spec = SynthSpec(reps=[SynthRep(), SynthRep(peak_deg=160), SynthRep(hold_s=0.5)])
    track, _ = make_track(spec)
    a = analyze_track(track, "hip_thrust", video_meta={"name": "set.mp4"})
    seed = folder / "_seed"
    write_outputs(a, seed, write_video=False, stem="seed")
    doc = json.loads((seed / "seed.json").read_text())
    for k in range(n):
        d = dict(doc, created_utc=f"2026-{1 + k % 12:02d}-{1 + k % 28:02d}T10:00:00.000+00:00")
        d["video"] = dict(doc["video"], name=f"set{k:05d}.mp4", path=f"set{k:05d}.mp4")
        out = folder / f"athlete{k % 20:02d}" / f"set{k:05d}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, json.dumps(d))
    for p in seed.iterdir():
        p.unlink()
    seed.rmdir()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str = "/", timeout: float = 60.0) -> tuple[int, float]:
    """Status and seconds of one GET (a new connection each time)."""
    t0 = time.perf_counter()
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        con.request("GET", path)
        r = con.getresponse()
        r.read()
        return r.status, time.perf_counter() - t0
    finally:
        con.close()


def stored_sets(db: Path) -> int:
    if not db.is_file():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM sets").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def start(folder: Path, db: Path, port: int, n: int) -> tuple[subprocess.Popen, float, float]:
    """Start the command; seconds to the first page and until the store holds ``n`` sets."""
    cmd = [sys.executable, "-m", "formcheck", "review", str(folder), "--db", f"sqlite:///{db}"]
    cmd += ["--port", str(port), "--no-prepare"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = done = None
    while time.perf_counter() - t0 < 600:
        if proc.poll() is not None:
            raise SystemExit(f"review exited: {proc.stderr.read().decode()[-2000:]}")
        if first is None:
            try:
                if get(port, timeout=5)[0] == 200:
                    first = time.perf_counter() - t0
            except OSError:
                pass
        if done is None and stored_sets(db) >= n:
            done = time.perf_counter() - t0
        if first is not None and done is not None:
            return proc, first, done
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("review did not come up in 600 s")


def load(port: int, clients: int, requests: int) -> list[float]:
    """Latencies (s) of ``clients`` x ``requests`` GET / from concurrent threads."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(requests):
            status, dt = get(port)
            with lock:
                times.append(dt)
                if status != 200:
                    errors.append(str(status))

    ths = [threading.Thread(target=work) for _ in range(clients)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    if errors:
        print(f"  non-200 answers: {sorted(set(errors))} x{len(errors)}")
    return times


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=25)
    ap.add_argument("--dir", type=Path, default=None, help="keep the result files here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fc-review-load-"))
    folder = args.dir or tmp / "runs"
    make_results(folder, args.sets)
    db = tmp / "store.sqlite"
    print(f"{args.sets} result files in {folder}; store {db}; load {os.getloadavg()[0]:.1f}")
    port = free_port()
    proc, first, done = start(folder, db, port, args.sets)
    try:
        print(
            f"fresh store: first page after {first:.2f} s, all {args.sets} imported after "
            f"{done:.2f} s"
        )
        get(port)
        lat = load(port, args.clients, args.requests)
        print(
            f"GET / with {args.clients} clients x {args.requests}: p50 "
            f"{1000 * statistics.median(lat):.0f} ms, p95 {1000 * pct(lat, 95):.0f} ms, max "
            f"{1000 * max(lat):.0f} ms; load {os.getloadavg()[0]:.1f}"
        )
    finally:
        proc.terminate()
        proc.wait(10)
    port = free_port()
    proc, first, _ = start(folder, db, port, args.sets)
    try:
        print(f"restart, nothing new: first page after {first:.2f} s")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
