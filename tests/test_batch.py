"""``formcheck batch``: per-file isolation, index, resume after SIGKILL, Dask = local pool.

The model-running tests use two short clips (one rep, about 7 s each) cut from the two
smallest labelled hip-thrust samples in ``samples/``; the whole file runs in about a minute
or two on a 2-core machine.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from formcheck import batch
from formcheck.cli import main
from formcheck.core.rules import RULE_IDS
from formcheck.errors import FormcheckError, InputError
from formcheck.fsutil import TMP_MARK
from formcheck.hashing import settings_key
from media import plain_video, wav_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CLIP_FRAMES: dict[Path, int] = {}  # clip -> number of frames


# ---------------------------------------------------------------------------- helpers


def cut_clip(src: Path, dst: Path, start: int, stop: int, max_width: int = 640) -> Path:
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 24.0
    writer, i = None, 0
    while i < stop:
        ok, frame = cap.read()
        if not ok:
            break
        if i >= start:
            h, w = frame.shape[:2]
            if w > max_width:
                frame = cv2.resize(
                    frame,
                    (max_width, round(h * max_width / w / 2) * 2),
                    interpolation=cv2.INTER_AREA,
                )
            if writer is None:
                writer = cv2.VideoWriter(
                    str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0])
                )
            writer.write(frame)
        i += 1
    cap.release()
    assert writer is not None, f"could not read {src}"
    writer.release()
    return dst


def strip_volatile(d):
    """A result json without the fields that legitimately differ between runs."""
    d = dict(d)
    d.pop("created_utc", None)
    return d


def assert_same(a, b, path="$"):
    """Recursive equality, floats to 1e-9 relative (NaN == NaN)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys differ"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(
            a, b, rel_tol=1e-9, abs_tol=1e-9
        ), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def results(out: Path, stems) -> dict:
    return {s: strip_volatile(json.loads((out / f"{s}.json").read_text())) for s in stems}


def index_rows(out: Path) -> dict[str, dict]:
    return {r["abs_path"]: r for r in json.loads((out / "index.json").read_text())["videos"]}


def analysed_counts(out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in (out / batch.LOG_FILE).read_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:  # a line cut by kill -9
            continue
        if e.get("event") == "analysed":
            counts[e["stem"]] = counts.get(e["stem"], 0) + 1
    return counts


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


# ---------------------------------------------------------------------------- fixtures


def labelled_samples(exercise: str = "hip_thrust") -> list[tuple[Path, dict]]:
    """Rendered samples of ``exercise`` with at least one labelled rep, smallest first."""
    out = []
    for mp4 in SAMPLES.glob("*.mp4"):
        lab = mp4.with_suffix(".label.json")
        if not lab.is_file() or mp4.stat().st_size < 10_000:
            continue
        try:
            label = json.loads(lab.read_text())
        except ValueError:  # still being written
            continue
        if label.get("exercise") == exercise and label.get("reps"):
            out.append((mp4, label))
    return sorted(out, key=lambda t: t[0].stat().st_size)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """Two short clips (the first labelled rep of the two smallest hip-thrust samples, about
    7 s each), both named ``set.mp4`` (in folders a/ and b/)."""
    found = labelled_samples()
    if len(found) < 2:
        pytest.skip(
            f"needs two labelled hip-thrust sample videos in {SAMPLES} (found "
            f"{len(found)}); render them first (benchmarks/synth)"
        )
    root = tmp_path_factory.mktemp("clips")
    out = []
    for sub, (src, label) in zip(("a", "b"), found[:2], strict=True):
        (root / sub).mkdir()
        rep = label["reps"][0]
        start, stop = max(0, rep["start_frame"] - 18), rep["end_frame"] + 18
        out.append(cut_clip(src, root / sub / "set.mp4", start, stop))
        CLIP_FRAMES[out[-1].resolve()] = stop - start
    return out


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory, clips) -> Path:
    d = tmp_path_factory.mktemp("bad")
    data = clips[0].read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (d / "zero.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("this is not a video\n" * 50)
    wav_file(d / "sound.wav")
    wav_file(d / "sound_as.mp4")
    plain_video(d / "empty_room.mp4")
    (d / "readme.txt").write_text("not picked up: not a video suffix\n")
    return d


BAD_REASONS = {
    "truncated.mp4": ("video", "decod", "truncated", "corrupt"),
    "zero.mp4": ("empty",),
    "notes.mp4": ("text file",),
    "sound.wav": ("audio",),
    "sound_as.mp4": ("audio",),
    "empty_room.mp4": ("no person",),
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, clips, bad_dir):
    """One uninterrupted CLI run over the good clips, a duplicate and every bad file."""
    out = tmp_path_factory.mktemp("baseline") / "out"
    dup = clips[0].parent.parent / "dup"
    dup.mkdir(exist_ok=True)
    shutil.copy2(clips[0], dup / "set.mp4")  # same name and content as a/set.mp4
    args = [
        sys.executable,
        "-m",
        "formcheck",
        "batch",
        str(clips[0].parent.parent),
        str(bad_dir),
        str(bad_dir / "sound.wav"),
        "--out",
        str(out),
        "--workers",
        "2",
        "--no-video",
        "-q",
    ]
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    return {
        "out": out,
        "rc": p.returncode,
        "stdout": p.stdout,
        "stderr": p.stderr,
        "seconds": time.perf_counter() - t0,
        "dup": dup / "set.mp4",
    }


def good_stems(out: Path, clips) -> list[str]:
    rows = index_rows(out)
    return [rows[str(c.resolve())]["stem"] for c in clips]


# ---------------------------------------------------------------------------- unit tests


def test_discover_inputs(tmp_path):
    (tmp_path / "in" / "deep" / "er").mkdir(parents=True)
    a = plain_video(tmp_path / "in" / "a.mp4", frames=2)
    b = plain_video(tmp_path / "in" / "deep" / "er" / "B.MOV", frames=2)
    (tmp_path / "in" / "notes.txt").write_text("x")
    out = tmp_path / "in" / "results"
    out.mkdir()
    plain_video(out / "old.annotated.mp4", frames=2)  # inside --out: never an input
    got = batch.discover_inputs([tmp_path / "in"], exclude=out)
    assert got == sorted([a.resolve(), b.resolve()])
    # a glob, an explicit non-video file (taken as given), duplicates removed
    txt = tmp_path / "in" / "notes.txt"
    got = batch.discover_inputs([str(tmp_path / "in" / "*.mp4"), a, txt])
    assert got == [a.resolve(), txt.resolve()]
    assert batch.discover_inputs([str(tmp_path / "in" / "**" / "*.MOV")]) == [b.resolve()]
    with pytest.raises(InputError, match="input not found"):
        batch.discover_inputs([tmp_path / "missing.mp4"])
    with pytest.raises(InputError, match="no files match"):
        batch.discover_inputs([str(tmp_path / "nothing*.mp4")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no videos"):
        batch.discover_inputs([tmp_path / "empty"])


def test_stems_unique_and_stable(tmp_path):
    s1 = batch.output_stem(Path("/x/a/set.mp4"), "ab" * 32)
    s2 = batch.output_stem(Path("/y/b/set.mp4"), "cd" * 32)
    assert s1 != s2 and s1.startswith("set-")
    assert batch.output_stem(Path("/moved/set.mp4"), "ab" * 32) == s1
    assert batch.safe_stem("my set (1)/../x") == "my_set_1_.._x"


def test_key_depends_on_settings(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[rules.sag]\nmin_peak_deg = 165.0\n")
    base = batch.resolve_settings("hip_thrust", "full", None)
    same = batch.resolve_settings("hip_thrust", "full", None)
    other_cfg = batch.resolve_settings("hip_thrust", "full", cfg)
    other_ex = batch.resolve_settings("glute_bridge", "full", None)
    k = lambda s: settings_key("0" * 64, s.identity())  # noqa: E731
    assert k(base) == k(same)
    assert len({k(base), k(other_cfg), k(other_ex)}) == 3
    assert settings_key("1" * 64, base.identity()) != k(base)
    # the config's content counts, not its path
    cfg2 = tmp_path / "d.toml"
    cfg2.write_text(cfg.read_text())
    assert k(batch.resolve_settings("hip_thrust", "full", cfg2)) == k(other_cfg)


@pytest.mark.parametrize(
    "case", ["no_input", "missing_input", "no_videos", "workers", "config", "exercise", "model"]
)
def test_bad_user_input_exit_2(case, tmp_path, capsys):
    v = plain_video(tmp_path / "v.mp4", frames=2)
    (tmp_path / "empty").mkdir()
    bad_cfg = tmp_path / "bad.toml"
    bad_cfg.write_text("[rules.sag]\nnot_a_key = 1\n")
    args = {
        "no_input": [],
        "missing_input": [tmp_path / "nope.mp4"],
        "no_videos": [tmp_path / "empty"],
        "workers": [v, "--workers", "0"],
        "config": [v, "--config", bad_cfg],
        "exercise": [v, "--exercise", "squat"],
        "model": [v, "--model", tmp_path / "missing.task"],
    }[case]
    code, out, err = run_cli(["batch", *args, "--out", tmp_path / "out", "-q"], capsys)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


def test_dask_missing_is_one_line(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "distributed" or name.startswith("distributed."):
            raise ModuleNotFoundError("No module named 'distributed'", name="distributed")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(FormcheckError, match=r"formcheck\[cluster\]"):
        batch.connect_dask("tcp://127.0.0.1:1")


def _session_json() -> str:
    from formcheck.analysis import analyze_track
    from formcheck.core.synthetic import SynthRep, SynthSpec, make_track

    track, _ = make_track(SynthSpec(reps=[SynthRep()]))
    return analyze_track(track).session.to_json()


def test_done_state_needs_matching_key_and_files(tmp_path):
    job = batch.Job(path=tmp_path / "v.mp4", display="v.mp4", stem="v-0123456789", key="k1")
    assert batch.done_state(tmp_path, job, False)[0] == "pending"
    sc = {"key": "k1", "status": "ok", "outputs": {"json": "v-0123456789.json"}}
    (tmp_path / "v-0123456789.done.json").write_text(json.dumps(sc))
    assert batch.done_state(tmp_path, job, False)[0] == "pending"  # json missing
    (tmp_path / "v-0123456789.json").write_text("{}")
    assert batch.done_state(tmp_path, job, False)[0] == "pending"  # json not a result
    (tmp_path / "v-0123456789.json").write_text(_session_json())
    assert batch.done_state(tmp_path, job, False)[0] == "ok"
    assert batch.done_state(tmp_path, job, True)[0] == "pending"  # annotated video wanted
    job.key = "k2"
    assert batch.done_state(tmp_path, job, False)[0] == "pending"  # settings changed
    # no person in the video: a finished result, as long as its files are there
    sc = {"key": "k2", "status": "no_person", "outputs": {"json": "v-0123456789.json"}}
    (tmp_path / "v-0123456789.done.json").write_text(json.dumps(sc))
    assert batch.done_state(tmp_path, job, False)[0] == "no_person"
    (tmp_path / "v-0123456789.json").unlink()
    assert batch.done_state(tmp_path, job, False)[0] == "pending"


# ---------------------------------------------------------------------------- with the model


@pytest.mark.slow
def test_good_and_bad_files(baseline, clips, bad_dir):
    out = baseline["out"]
    assert baseline["rc"] == 1, baseline["stderr"]
    assert "Traceback" not in baseline["stderr"]
    assert "5 of 9 videos failed" in baseline["stderr"], baseline["stderr"]
    # a video with nobody in it is a result with a warning, not a failure
    assert "warning: 1 of 9 videos had no person in frame" in baseline["stderr"]
    rows = index_rows(out)
    assert len(rows) == 9  # 2 clips + duplicate + 6 bad; readme.txt not picked up
    for c in clips:
        r = rows[str(c.resolve())]
        assert r["status"] == "ok" and r["error"] is None
        assert r["reps"] >= 1 and r["frames"] == CLIP_FRAMES[c.resolve()]
        assert set(r["faults"]) == set(RULE_IDS)
        assert (out / r["outputs"]["json"]).is_file()
        assert (out / r["outputs"]["track"]).is_file()
        assert "annotated_video" not in r["outputs"]  # --no-video
        session = json.loads((out / r["outputs"]["json"]).read_text())
        assert session["video"]["path"] == str(c.resolve())
        assert session["rep_count"] == r["reps"]
    # same file name in two folders: two different stems
    s0, s1 = good_stems(out, clips)
    assert s0 != s1
    dup = rows[str(baseline["dup"].resolve())]
    assert dup["stem"] == s0 and dup["duplicate_of"] and dup["status"] == "ok"
    for name, words in BAD_REASONS.items():
        r = rows[str((bad_dir / name).resolve())]
        expected = "no_person" if name == "empty_room.mp4" else "failed"
        assert r["status"] == expected, (name, r)
        assert r["error"] and any(w in r["error"].lower() for w in words), (name, r["error"])
    # the personless video was analysed fine: its result files are there
    assert (out / rows[str((bad_dir / "empty_room.mp4").resolve())]["outputs"]["json"]).is_file()
    # csv index: same rows and a fault column per rule
    import csv

    with open(out / "index.csv", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == 9
    assert {"status", "reps", "error", "key", "outputs", "fault_sag"} <= set(csv_rows[0])
    assert sum(r["status"] == "ok" for r in csv_rows) == 3
    assert not list(out.glob(f"*{batch.TMP_SUFFIX}"))
    assert not list(out.glob(f"*{TMP_MARK}*"))
    # summary table on stdout
    assert "no_person" in baseline["stdout"] and "failed" in baseline["stdout"]
    # each good clip analysed once (the duplicate shares its result)
    counts = analysed_counts(out)
    assert counts[s0] == 1 and counts[s1] == 1


@pytest.mark.slow
def test_rerun_skips_and_retry_failed_redoes_only_failures(
    baseline, clips, bad_dir, tmp_path, capsys
):
    out = tmp_path / "out"
    shutil.copytree(baseline["out"], out)
    stems = good_stems(out, clips)
    mtimes = {s: (out / f"{s}.json").stat().st_mtime_ns for s in stems}
    before = analysed_counts(out)
    inputs = [clips[0].parent.parent, bad_dir, bad_dir / "sound.wav"]
    code, stdout, err = run_cli(["batch", *inputs, "--out", out, "--no-video", "-q"], capsys)
    assert code == 1 and "5 of 9 videos failed" in err
    assert analysed_counts(out) == before  # nothing redone, failures remembered
    code, stdout, err = run_cli(
        ["batch", *inputs, "--out", out, "--no-video", "-q", "--retry-failed"], capsys
    )
    assert code == 1
    after = analysed_counts(out)
    redone = {s for s in after if after[s] != before.get(s, 0)}
    rows = index_rows(out)
    failed_stems = {r["stem"] for r in rows.values() if r["status"] == "failed"}
    assert redone == failed_stems and len(redone) == 5  # the personless video is not redone
    assert {s: (out / f"{s}.json").stat().st_mtime_ns for s in stems} == mtimes


@pytest.mark.slow
def test_report_writes_one_html_report_per_finished_video(baseline, clips, tmp_path, capsys):
    """--report on a finished run: nothing analysed again, a self-contained report beside each
    finished result (ok and no-person), none for the failures; the table has view and
    attempts columns."""
    out = tmp_path / "out"
    shutil.copytree(baseline["out"], out)
    before = analysed_counts(out)
    code, stdout, err = run_cli(
        ["batch", *clips, "--out", out, "--no-video", "-q", "--report"], capsys
    )
    assert code == 0, err
    assert analysed_counts(out) == before
    head = stdout.splitlines()[0].split()
    assert head[:6] == ["video", "status", "exercise", "view", "reps", "attempts"], head
    for c in clips:
        row = index_rows(out)[str(c.resolve())]
        html = (out / f"{row['stem']}.report.html").read_text()
        assert html.lower().startswith("<!doctype html>") and "<script" not in html
        assert f"{row['reps']} reps" in html
    assert len(list(out.glob("*.report.html"))) == len(clips)
    assert f"{len(clips)} reports in" in err


def test_changed_settings_redo(baseline, clips, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(baseline["out"], out)
    stems = good_stems(out, clips)
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[rules.sag]\nmin_peak_deg = 178.0\n")
    code, stdout, err = run_cli(
        ["batch", clips[0], "--out", out, "--no-video", "-q", "--config", cfg], capsys
    )
    assert code == 0, err
    assert analysed_counts(out)[stems[0]] == 2  # redone with the new key
    s = json.loads((out / f"{stems[0]}.json").read_text())
    assert s["profile"]["rules"]["sag"]["min_peak_deg"] == 178.0
    sc = json.loads((out / f"{stems[0]}.done.json").read_text())
    assert sc["key"] == index_rows(out)[str(clips[0].resolve())]["key"]
    # rows of videos not named in this run are kept from the earlier run
    assert len(index_rows(out)) == 9
    # --exercise auto is another setting (a new key); each video's exercise comes from its
    # set-up (these clips are hip thrusts) and lands in the session and the index
    code, stdout, err = run_cli(
        ["batch", clips[0], "--out", out, "--no-video", "-q", "--exercise", "auto"], capsys
    )
    assert code == 0, err
    assert analysed_counts(out)[stems[0]] == 3
    s = json.loads((out / f"{stems[0]}.json").read_text())
    assert s["exercise"] == "hip_thrust" and s["exercise_check"]["source"] == "detected"
    assert index_rows(out)[str(clips[0].resolve())]["exercise"] == "hip_thrust"


@pytest.mark.slow
def test_sigkill_then_resume(baseline, clips, tmp_path):
    out = tmp_path / "out"
    args = [
        sys.executable,
        "-m",
        "formcheck",
        "batch",
        *map(str, clips),
        "--out",
        str(out),
        "--workers",
        "1",
        "--no-video",
        "-q",
    ]
    p = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    first = None
    while time.monotonic() < deadline and p.poll() is None:
        jsons = [
            j
            for j in out.glob("*.json")
            if j.name != "index.json" and not j.name.endswith(batch.DONE_SUFFIX)
        ]
        if jsons:
            first = jsons[0]
            break
        time.sleep(0.02)
    assert first is not None and p.poll() is None, "the run ended before it could be killed"
    os.killpg(p.pid, signal.SIGKILL)  # the client, its pool and the workers
    p.wait()
    done_at_kill = {
        d.name[: -len(batch.DONE_SUFFIX)]: d.stat().st_mtime_ns
        for d in out.glob(f"*{batch.DONE_SUFFIX}")
    }
    json_mtimes = {s: (out / f"{s}.json").stat().st_mtime_ns for s in done_at_kill}
    assert len(done_at_kill) < 2  # killed part-way

    p2 = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert p2.returncode == 0, p2.stderr
    stems = good_stems(out, clips)
    assert set(stems) == set(good_stems(baseline["out"], clips))
    assert_same(results(out, stems), results(baseline["out"], stems))
    for s in stems:
        for suffix in (".reps.csv", ".frames.csv"):
            assert (out / f"{s}{suffix}").read_text() == (
                baseline["out"] / f"{s}{suffix}"
            ).read_text()
    # a video finished before the kill was not analysed again
    for s, m in done_at_kill.items():
        assert (out / f"{s}{batch.DONE_SUFFIX}").stat().st_mtime_ns == m
        assert (out / f"{s}.json").stat().st_mtime_ns == json_mtimes[s]
    counts = analysed_counts(out)
    assert all(counts.get(s, 0) <= 1 for s in done_at_kill)
    assert all(counts.get(s, 0) >= 1 for s in set(stems) - set(done_at_kill))
    assert not list(out.glob(f"*{batch.TMP_SUFFIX}"))
    assert not list(out.glob(f"*{TMP_MARK}*"))
    assert {r["status"] for r in index_rows(out).values()} == {"ok"}


@pytest.mark.slow
def test_dask_cluster_matches_local_pool(baseline, clips, tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed")
    out = tmp_path / "out"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        res = batch.run_batch(clips, out, scheduler=cluster.scheduler_address, write_video=False)
    assert res.failed == 0 and res.analysed == 2
    stems = good_stems(out, clips)
    assert_same(results(out, stems), results(baseline["out"], stems))
    for s in stems:
        assert (out / f"{s}.frames.csv").read_text() == (
            baseline["out"] / f"{s}.frames.csv"
        ).read_text()
        assert (out / f"{s}.track.npz").is_file()
    assert all(r["worker"] for r in res.rows)


@pytest.mark.slow
def test_dask_size_limit(clips, tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed")
    out = tmp_path / "out"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        res = batch.run_batch(
            clips[:1], out, scheduler=cluster.scheduler_address, write_video=False, max_size_mb=0.01
        )
    assert res.failed == 1
    assert "over the cluster size limit" in res.rows[0]["error"]
