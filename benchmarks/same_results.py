"""Same results before and after a code change: record a baseline with one checkout, compare.

    python benchmarks/same_results.py record  BASE [--videos DIR] [--live LIVE --labels DIR]
    python benchmarks/same_results.py compare BASE [--videos DIR] [--live LIVE --labels DIR]
                                              [--no-tracks] [--work DIR] [--only STEM ...]
                                              [--ignore KEY ...]

The code under test is whatever ``python -m formcheck`` imports (set ``PYTHONPATH=<checkout>/src``
to pick another checkout); the live replay is that checkout's ``benchmarks/live.py --replay``.
Everything goes through the CLI and the benchmark script's printed table, not the library API.

BASE holds one clip per stem, as written by ``formcheck analyze VIDEO --out BASE --exercise auto
--no-video``: ``<stem>.json``, ``.reps.csv``, ``.frames.csv``, ``.track.npz``.

- ``record`` adds to BASE what the checkout makes from those tracks: ``BASE/from_track/<stem>.*``
  (``analyze --track``), and with ``--live`` one ``LIVE/<stem>.json`` per clip (the replay's rows).
  With ``--videos`` it first analyses ``DIR/*.mp4`` into BASE.
- ``compare`` makes the same things again in a scratch folder and diffs them with BASE: result
  JSON minus volatile keys (``created_utc``, ``formcheck_version``, ``--ignore`` ones; absolute
  paths compared by file name only), CSVs line by line, tracks (``--videos``) array by array,
  live rows line by line.

Prints one table (clip, what, identical?, first difference) and exits 0 only if all are identical.
Example (the samples; drop ``PYTHONPATH`` to test the current checkout)::

    PYTHONPATH=/work/baseline/src python benchmarks/same_results.py compare data/samples \
        --live data/samples_live --labels samples [--videos samples]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

VOLATILE = {"created_utc", "formcheck_version"}
OUTPUTS = (".json", ".reps.csv", ".frames.csv")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "GLOG_minloglevel": "2"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)


def formcheck_root() -> Path:
    """Checkout of the ``formcheck`` that ``python`` imports (``<root>/src/formcheck``)."""
    p = run([sys.executable, "-c", "import formcheck; print(formcheck.__file__)"])
    if p.returncode:
        sys.exit(f"error: cannot import formcheck: {p.stderr.strip()}")
    return Path(p.stdout.strip()).resolve().parents[2]


def analyze(args: list[str], out: Path, exercise: str) -> str:
    """``formcheck analyze ARGS --out OUT``; returns '' or the error text."""
    out.mkdir(parents=True, exist_ok=True)
    p = run(
        [
            sys.executable,
            "-m",
            "formcheck",
            "analyze",
            *args,
            "--out",
            str(out),
            "--exercise",
            exercise,
            "--no-video",
            "--quiet",
        ]
    )
    return "" if p.returncode == 0 else f"exit {p.returncode}: {p.stderr.strip()[-300:]}"


def live_replay(root: Path, track: Path, labels: Path) -> dict:
    """One clip through ``benchmarks/live.py --replay`` (its own folder, so the summary line is
    this clip's); returns its printed rows."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / track.name).symlink_to(track.resolve())
        p = run(
            [
                sys.executable,
                str(root / "benchmarks/live.py"),
                "--replay",
                tmp,
                "--labels",
                str(labels),
            ]
        )
    lines = [ln.rstrip() for ln in p.stdout.splitlines()[1:] if ln.strip()]
    rows = [ln for ln in lines if not ln.startswith("labelled faults cued")]
    rec = {
        "clip": track.name.removesuffix(".track.npz"),
        "exit_code": p.returncode,
        "rows": [_row(ln) for ln in rows],
        "lines": lines,
        "summary": next((ln for ln in lines if ln not in rows), None),
    }
    if p.returncode:
        rec["stderr_tail"] = p.stderr.strip()[-300:]
    return rec


def _row(line: str) -> dict:
    """A replay row: clip rep fault label_s cue_s delay|missed, or an unlabelled cue."""
    t = line.split()
    if len(t) > 1 and t[1].isdigit():
        return {
            "rep": int(t[1]),
            "fault": t[2],
            "label_s": float(t[3]),
            "cue_s": None if t[4] == "-" else float(t[4]),
            "result": " ".join(t[5:]),
        }
    return {
        "rep": None,
        "fault": t[1],
        "label_s": None,
        "cue_s": float(t[3]),
        "result": " ".join(t[4:]),
    }


def normalise(obj):
    """Drop volatile keys; absolute paths (also in JSON inside strings) by file name only."""
    if isinstance(obj, dict):
        return {k: normalise(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [normalise(v) for v in obj]
    if isinstance(obj, str) and obj.startswith("/"):
        return Path(obj).name
    if isinstance(obj, str) and obj.startswith("{"):
        try:
            return normalise(json.loads(obj))
        except ValueError:
            return obj
    return obj


def first_diff(a, b, key: str = "") -> str | None:
    """Path of the first differing key (``reps[2].peak_angle_deg``), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{key}.{k}".lstrip(".") + (" (only before)" if k in a else " (only after)")
            d = first_diff(a[k], b[k], f"{key}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = first_diff(x, y, f"{key}[{i}]")
            if d:
                return d
        return None if len(a) == len(b) else f"{key} (length {len(a)} -> {len(b)})"
    same = a == b and type(a) is type(b)
    return None if same else f"{key.lstrip('.')}: {a!r} -> {b!r}"[:160]


def _drop_columns(rows: list[list[str]]) -> list[list[str]]:
    """Without the columns whose header is an ignored key."""
    keep = [j for j, h in enumerate(rows[0] if rows else []) if h not in VOLATILE]
    return [[r[j] for j in keep if j < len(r)] for r in rows] if rows else rows


def diff_csv(a: str, b: str) -> str | None:
    ra, rb = (_drop_columns(list(csv.reader(io.StringIO(t)))) for t in (a, b))
    head = ra[0] if ra else []
    for i, (x, y) in enumerate(zip(ra, rb, strict=False)):
        if x != y:
            j = next(
                (j for j, (u, v) in enumerate(zip(x, y, strict=False)) if u != v),
                min(len(x), len(y)),
            )
            col = head[j] if j < len(head) else j
            return (
                f"line {i + 1} {col}: {x[j] if j < len(x) else ''!r} -> "
                f"{y[j] if j < len(y) else ''!r}"
            )
    return None if len(ra) == len(rb) else f"{len(ra)} -> {len(rb)} lines"


def diff_track(a: Path, b: Path) -> str | None:
    with np.load(a) as za, np.load(b) as zb:
        if set(za.files) != set(zb.files):
            return f"arrays {sorted(za.files)} -> {sorted(zb.files)}"
        for k in za.files:
            x, y = za[k], zb[k]
            if k == "meta_json":
                d = first_diff(normalise(json.loads(str(x))), normalise(json.loads(str(y))))
                if d:
                    return f"meta {d}"
            elif x.shape != y.shape or x.dtype != y.dtype:
                return f"{k}: {x.dtype}{x.shape} -> {y.dtype}{y.shape}"
            elif not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                n = int(
                    np.sum(
                        ~((x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x == y)
                    )
                )
                return f"{k}: {n} values differ"
    return None


def diff_outputs(base: Path, new: Path, stem: str, track: bool) -> str | None:
    """First difference between the result files of ``stem`` in two folders, or None."""
    for ext in OUTPUTS + ((".track.npz",) if track else ()):
        a, b = base / f"{stem}{ext}", new / f"{stem}{ext}"
        if not a.is_file() or not b.is_file():
            return f"{ext}: missing {'before' if not a.is_file() else 'after'}"
        if ext == ".json":
            d = first_diff(*(normalise(json.loads(p.read_text())) for p in (a, b)))
        elif ext == ".track.npz":
            d = diff_track(a, b)
        else:
            d = diff_csv(a.read_text(), b.read_text())
        if d:
            return f"{ext[1:]} {d}"
    return None


Results = list[tuple[str, str, str | None]]  # clip, what, difference (None: identical)


def do_videos(a, work: Path, record: bool, results: Results) -> None:
    """Analyse the videos (record: DIR/*.mp4 into BASE; compare: the stems in BASE)."""
    stems = (
        sorted(p.stem for p in a.videos.glob("*.mp4"))
        if record
        else sorted(p.name.removesuffix(".json") for p in a.base.glob("*.json"))
    )
    for stem in [s for s in stems if not a.only or s in a.only]:
        v = a.videos / f"{stem}.mp4"
        if not v.is_file():
            results.append((stem, "video", f"no {v}"))
            continue
        err = analyze([str(v)], work if record else work / "video", a.exercise)
        if record:
            print(f"{stem}: video {err or 'ok'}", file=sys.stderr)
        else:
            results.append(
                (stem, "video", err or diff_outputs(a.base, work / "video", stem, track=True))
            )


def do_tracks(a, tracks: list[Path], work: Path, record: bool, results: Results) -> None:
    """Re-analyse BASE's tracks in one CLI call (into BASE/from_track when recording)."""
    out = (a.base if record else work) / "from_track"
    err = analyze([x for t in tracks for x in ("--track", str(t))], out, a.exercise)
    if record:
        print(f"from_track: {err or 'ok'} ({len(tracks)} tracks)", file=sys.stderr)
        return
    for t in tracks:
        stem = t.name.removesuffix(".track.npz")
        d = diff_outputs(a.base / "from_track", out, stem, track=False)
        results.append((stem, "track", d or err or None))


def do_live(
    a, root: Path, tracks: list[Path], work: Path | None, record: bool, results: Results
) -> None:
    """Live replay of each track; record writes LIVE/<stem>.json, compare diffs the rows."""
    a.live.mkdir(parents=True, exist_ok=True)
    for t in tracks:
        stem = t.name.removesuffix(".track.npz")
        rec = live_replay(root, t, a.labels)
        text = json.dumps(rec, indent=1) + "\n"
        if record:
            (a.live / f"{stem}.json").write_text(text)
            print(f"{stem}: live {len(rec['rows'])} rows, exit {rec['exit_code']}", file=sys.stderr)
            continue
        if work is not None:
            (work / "live").mkdir(parents=True, exist_ok=True)
            (work / "live" / f"{stem}.json").write_text(text)
        old = a.live / f"{stem}.json"
        if not old.is_file():
            results.append((stem, "live", f"no {old}"))
            continue
        d = first_diff(json.loads(old.read_text())["lines"], rec["lines"], "line")
        if not d and rec["exit_code"]:
            d = f"exit {rec['exit_code']}: {rec.get('stderr_tail', '')}"
        results.append((stem, "live", d))


def table(results: Results) -> int:
    """Print the comparison; 0 if every entry is identical (and there is at least one)."""
    w = max([len(c) for c, _, _ in results] + [4])
    print(f"{'clip':<{w}}  {'what':<5}  {'same':<4}  first difference")
    for clip, what, d in results:
        print(f"{clip:<{w}}  {what:<5}  {'yes' if d is None else 'NO':<4}  {d or ''}")
    bad = sum(d is not None for _, _, d in results)
    print(f"\n{len(results) - bad}/{len(results)} identical" + (f", {bad} differ" if bad else ""))
    return 1 if bad or not results else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["record", "compare"])
    ap.add_argument("base", type=Path, help="baseline result folder (JSONs + .track.npz)")
    ap.add_argument("--videos", type=Path, help="also analyse DIR/<stem>.mp4 (model run)")
    ap.add_argument("--live", type=Path, help="folder of live-replay JSONs, one per clip")
    ap.add_argument("--labels", type=Path, help="the clips' .label.json folder (live replay)")
    ap.add_argument("--no-tracks", action="store_true", help="compare: skip track re-analysis")
    ap.add_argument("--exercise", default="auto")
    ap.add_argument("--work", type=Path, help="compare: keep the new results here")
    ap.add_argument("--only", nargs="+", metavar="STEM", help="only these clips")
    ap.add_argument(
        "--ignore",
        nargs="+",
        default=[],
        metavar="KEY",
        help="also ignore these JSON keys (any depth) and CSV columns",
    )
    a = ap.parse_args(argv)
    if a.live and not a.labels:
        ap.error("--live needs --labels")
    VOLATILE.update(a.ignore)
    root = formcheck_root()
    print(f"formcheck from {root}", file=sys.stderr)
    record = a.mode == "record"
    work = a.base if record else a.work or Path(tempfile.mkdtemp(prefix="same_results_"))
    results: Results = []
    try:
        if a.videos:
            do_videos(a, work, record, results)
        tracks = [
            t
            for t in sorted(a.base.glob("*.track.npz"))
            if not a.only or t.name.removesuffix(".track.npz") in a.only
        ]
        if tracks and (record or not a.no_tracks):
            do_tracks(a, tracks, work, record, results)
        if a.live:
            do_live(a, root, tracks, a.work, record, results)
    finally:
        if not record and a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if record else table(results)


if __name__ == "__main__":
    sys.exit(main())
