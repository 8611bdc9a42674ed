"""Nothing silently wrong, nothing lost: cut videos, unwritable outputs, damaged results,
concurrent runs and a Dask worker killed mid-run (issue #19; figures in docs/reliability.md).

The fast tests replay an exact synthetic pose track through a stand-in for the pose model
(:class:`ReplayEstimator`), so decoding, truncation checks, analysis and writing run for real
without MediaPipe. Read-only folders are simulated: the tests run as root, which ignores
permission bits, so the write probe is made to fail (``fsutil._probe``) or a file stands where
a folder is expected; a full disk is ``ENOSPC`` from ``os.fsync`` (where a full disk shows up
on delayed-allocation filesystems) or a real per-file size limit (``RLIMIT_FSIZE``) in a
subprocess, which also stops OpenCV's video writer.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import pytest

from formcheck import batch
from formcheck.analysis import analyze_video
from formcheck.batch import ledger
from formcheck.cli import main
from formcheck.core.session import SCHEMA_VERSION, Session, schema
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.errors import InputError, OutputError
from formcheck.fsutil import TMP_MARK
from formcheck.pose import estimator as estimator_mod
from formcheck.pose.estimator import FramePose, PoseOptions
from formcheck.pose.models import resolve_model
from formcheck.pose.video import missing_bytes, probe_video, read_shortfall

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "ht_faults_right.mp4"  # 722 frames, 24 fps, 5 reps
FPS = 15
SPEC = SynthSpec(
    reps=[SynthRep(rise_s=0.6, hold_s=1.6, lower_s=1.6, rest_s=0.5)] * 5,
    fps=FPS,
    width=320,
    height=180,
    lead_in_s=1.0,
    lead_out_s=1.0,
)
TRACK, _ = make_track(SPEC)  # 355 frames, 5 reps


def ffmpeg() -> str:
    return pytest.importorskip(
        "imageio_ffmpeg", reason="imageio-ffmpeg (test extra) writes the test videos"
    ).get_ffmpeg_exe()


def faststart_clip(path: Path, frames: int = TRACK.n_frames) -> Path:
    """An H.264 MP4 with its index at the start (the phone / ``+faststart`` layout)."""
    subprocess.run(
        [
            ffmpeg(),
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={SPEC.width}x{SPEC.height}:rate={FPS}",
            "-frames:v",
            str(frames),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
    )
    return path


def cut(src: Path, dst: Path, percent: int) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) * percent // 100])
    return dst


class ReplayEstimator:
    """Stands in for :class:`PoseEstimator`: the synthetic track's landmarks per frame."""

    track = TRACK

    def __init__(self, model=None, options=None) -> None:
        self.model_path = resolve_model("full")
        self.options = PoseOptions(masks=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass

    def process(self, frame, timestamp_ms: int) -> FramePose | None:
        i = min(round(timestamp_ms * self.track.fps / 1000.0), self.track.n_frames - 1)
        t = self.track
        return FramePose(t.image[i], t.world[i], t.visibility[i], t.presence[i])


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cut")
    full = faststart_clip(d / "full.mp4")
    out = {"full": full}
    for pct in (30, 60, 95):
        out[f"cut{pct}"] = cut(full, d / f"cut{pct}.mp4", pct)
    return out


@pytest.fixture
def no_model(monkeypatch):
    """The CLI's pose model replaced by :class:`ReplayEstimator`; counts constructions."""
    made = []

    class Counting(ReplayEstimator):
        def __init__(self, *a, **k) -> None:
            made.append(1)
            super().__init__(*a, **k)

    monkeypatch.setattr(estimator_mod, "PoseEstimator", Counting)
    return made


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(f"*{TMP_MARK}*"))


# ------------------------------------------------------------------ 1. truncated MP4


def test_cut_mp4_is_seen_in_the_container(clips):
    assert missing_bytes(clips["full"]) == 0
    for k in ("cut30", "cut60", "cut95"):
        assert missing_bytes(clips[k]) > 0
        info = probe_video(clips[k])
        assert info.frame_count == TRACK.n_frames  # the index at the start still says all
        assert info.missing_bytes > 0
    assert missing_bytes(SAMPLE) == 0


def test_read_shortfall_tolerance(clips):
    info = probe_video(clips["full"])
    n = info.frame_count
    assert read_shortfall(info, n) is None
    assert read_shortfall(info, n - 2) is None  # a container's estimate may be a bit off
    assert "truncated or damaged" in read_shortfall(info, n - 10)
    cut_info = replace(info, missing_bytes=100)
    assert "truncated" in read_shortfall(cut_info, n - 1)  # visibly cut: any frame counts
    with pytest.raises(InputError, match="too little to analyse"):
        read_shortfall(info, n // 3)


def test_whole_video_is_not_truncated(clips):
    s = analyze_video(clips["full"], estimator=ReplayEstimator()).session
    assert s.rep_count == 5 and s.video.truncated is False
    assert s.video.frames == s.video.frame_count == TRACK.n_frames
    assert not any("truncated" in w for w in s.warnings)


@pytest.mark.parametrize("pct", [60, 95])
def test_cut_video_result_states_what_was_read(clips, pct):
    a = analyze_video(clips[f"cut{pct}"], estimator=ReplayEstimator())
    s = a.session
    assert s.video.truncated is True
    assert s.video.frame_count == TRACK.n_frames  # as declared
    assert s.video.frames == a.track.n_frames < TRACK.n_frames  # as read and analysed
    assert s.video.duration_s == pytest.approx(s.video.frames / FPS)
    assert "truncated" in s.warnings[0] and f"of {TRACK.n_frames} frames" in s.warnings[0]
    assert s.rep_count == (3 if pct == 60 else 5)  # the reps in what could be read
    d = s.to_dict()
    assert d["schema_version"] == SCHEMA_VERSION and d["video"]["truncated"] is True
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(d, schema())


def test_cut_below_half_is_an_error(clips):
    with pytest.raises(InputError, match="is truncated: only .* too little to analyse"):
        analyze_video(clips["cut30"], estimator=ReplayEstimator())


def test_cli_cut_videos(clips, tmp_path, capsys, no_model):
    code, _, err = run_cli(["analyze", clips["cut30"], "--out", tmp_path, "--no-video"], capsys)
    assert code == 2
    assert "truncated" in one_error_line(err)
    code, out, err = run_cli(
        ["analyze", clips["cut60"], "--out", tmp_path, "--no-video", "-q"], capsys
    )
    assert code == 0, err
    assert "warning: cut60: the video is truncated" in err
    d = json.loads((tmp_path / "cut60.json").read_text())
    assert d["video"]["truncated"] is True and d["video"]["frame_count"] == TRACK.n_frames
    assert d["video"]["frames"] < TRACK.n_frames
    # re-analysing the saved track keeps the verdict
    code, out, err = run_cli(
        ["analyze", "--track", tmp_path / "cut60.track.npz", "--out", tmp_path / "re", "-q"],
        capsys,
    )
    assert code == 0, err
    again = json.loads((tmp_path / "re" / "cut60.json").read_text())
    assert again["video"]["truncated"] is True and again["warnings"][0] == d["warnings"][0]


def _task(video: Path, stem: str) -> batch.Task:
    s = batch.resolve_settings("hip_thrust", "full", None, write_video=False)
    job = batch.Job(path=video, display=video.name, stem=stem)
    return batch.Task.for_job(job, s, path=str(video), model_path=s.model_path)


def test_batch_marks_a_cut_video(clips, tmp_path, monkeypatch):
    from formcheck.batch import worker

    monkeypatch.setattr(worker, "_estimator", lambda path: ReplayEstimator())
    res = worker.analyse_task(_task(clips["cut60"], "cut60-x"))
    assert res.status == "truncated" and "truncated" in res.error
    assert res.summary.truncated and res.frames < TRACK.n_frames
    bad = worker.analyse_task(_task(clips["cut30"], "cut30-x"))
    assert bad.status == "failed" and "too little to analyse" in bad.error
    # the ledger counts a truncated result as done, and the index shows it
    s = batch.resolve_settings("hip_thrust", "full", None, write_video=False)
    job = batch.Job(path=clips["cut60"], display="cut60.mp4", stem="cut60-x", key="k")
    sc = ledger.Recorder(tmp_path, s).commit(job, res)
    assert batch.done_state(tmp_path, job, False)[0] == "truncated"
    row = ledger.index_row(job, sc["status"], sc, "analysed")
    assert row["status"] == "truncated" and row["frames"] == res.frames
    lines = batch.summary_lines(batch.BatchResult([row], 1, 0, 0, tmp_path))
    assert "truncated" in lines[-1] and "frames" in lines[-1]


@pytest.mark.slow
def test_cut_phone_video_with_the_model(tmp_path):
    """The issue's case: a faststart MP4 (722 frames, 5 reps) cut at 30 / 60 / 95 %."""
    d = tmp_path / "in"
    d.mkdir()
    full = d / "full.mp4"
    subprocess.run(
        [ffmpeg(), "-y", "-loglevel", "error", "-i", SAMPLE, "-c", "copy"]
        + ["-movflags", "+faststart", full],
        check=True,
    )
    for pct in (30, 60, 95):
        cut(full, d / f"cut{pct}.mp4", pct)
    full.unlink()
    out = tmp_path / "out"
    p = subprocess.run(
        [sys.executable, "-m", "formcheck", "batch", d, "--out", out, "--no-video", "-q"]
        + ["--workers", "1"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert p.returncode == 1, p.stderr  # cut30 failed
    rows = {Path(r["path"]).name: r for r in json.loads((out / "index.json").read_text())["videos"]}
    assert rows["cut30.mp4"]["status"] == "failed"
    assert "too little to analyse" in rows["cut30.mp4"]["error"]
    for name in ("cut60.mp4", "cut95.mp4"):
        r = rows[name]
        assert r["status"] == "truncated", r
        s = json.loads((out / f"{r['stem']}.json").read_text())
        assert s["video"]["truncated"] and s["video"]["frame_count"] == 722
        assert s["video"]["frames"] == r["frames"] < 722
        assert s["video"]["duration_s"] == pytest.approx(r["frames"] / 24, abs=1e-3)
    assert "truncated" in p.stderr


# ------------------------------------------------------------------ 2. output errors


def _track_file(tmp_path: Path, source: Path | None = None) -> Path:
    meta = {"source": str(source) if source else str(tmp_path / "gone.mp4")}
    return replace(TRACK, meta=meta).save(tmp_path / "set.track.npz")


def test_out_is_a_file(clips, tmp_path, capsys, no_model):
    (tmp_path / "afile").write_text("x")
    for cmd in (["analyze", clips["full"]], ["batch", clips["full"]]):
        code, _, err = run_cli([*cmd, "--out", tmp_path / "afile" / "sub", "-q"], capsys)
        assert code == 2
        assert "afile" in one_error_line(err)
    assert not no_model  # refused before the model


def test_out_not_writable_fails_before_the_model(clips, tmp_path, capsys, monkeypatch, no_model):
    """Root writes anywhere, so the write probe is made to fail as on a read-only folder."""
    from formcheck import fsutil

    def refuse(folder):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fsutil, "_probe", refuse)
    for cmd in (["analyze", clips["full"]], ["batch", clips["full"]]):
        code, _, err = run_cli([*cmd, "--out", tmp_path / "ro", "-q"], capsys)
        assert code == 2
        assert "is not writable: Permission denied" in one_error_line(err)
    code, _, err = run_cli(
        ["live", "--camera", clips["full"], "--out", tmp_path / "ro", "--no-display"], capsys
    )
    assert code == 2 and "not writable" in one_error_line(err)
    assert not no_model


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_out_read_only_for_real(clips, tmp_path, capsys, no_model):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, _, err = run_cli(["analyze", clips["full"], "--out", ro, "-q"], capsys)
    finally:
        ro.chmod(0o755)
    assert code == 2 and "not writable" in one_error_line(err)
    assert not no_model


def test_full_disk_is_refused_before_the_model(clips, tmp_path, capsys, monkeypatch, no_model):
    import shutil

    from formcheck import fsutil

    real = shutil.disk_usage
    monkeypatch.setattr(fsutil.shutil, "disk_usage", lambda p: real(p)._replace(free=2_000_000))
    for cmd in (["analyze", clips["full"]], ["batch", clips["full"]]):
        code, _, err = run_cli([*cmd, "--out", tmp_path / "o", "-q"], capsys)
        assert code == 2
        assert "not enough free space" in one_error_line(err)
    assert not no_model


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_enospc_while_writing_is_one_line(tmp_path, capsys, monkeypatch):
    from formcheck import fsutil

    monkeypatch.setattr(fsutil.os, "fsync", _enospc)
    out = tmp_path / "o"
    code, _, err = run_cli(["analyze", "--track", _track_file(tmp_path), "--out", out], capsys)
    assert code == 2
    line = one_error_line(err)
    assert "cannot write" in line and "No space left on device (disk full)" in line
    assert leftovers(out) == [] and not list(out.glob("*.json"))


def test_enospc_in_batch_commit_is_one_line(clips, tmp_path, capsys, monkeypatch):
    """The client writes results as they come back; a full disk then ends the run."""
    from formcheck import fsutil
    from formcheck.batch import run as run_mod

    def fake_local(jobs, s, workers, log_path):
        monkeypatch.setattr(fsutil.os, "fsync", _enospc)  # the disk fills during the run
        for j in jobs:
            files = {"json": (f"{j.stem}.json", b"{}")}
            yield j, batch.Result(stem=j.stem, status="ok", files=files)

    monkeypatch.setattr(run_mod, "run_local", fake_local)
    out = tmp_path / "o"
    code, _, err = run_cli(["batch", clips["full"], "--out", out, "-q"], capsys)
    assert code == 2
    assert err.startswith("1 videos: 1 to analyse")  # the run had started
    assert "No space left on device" in one_error_line(err.split("\n", 1)[1])
    assert leftovers(out) == []


def test_enospc_in_live_save(tmp_path, monkeypatch):
    from formcheck import fsutil
    from formcheck.core.rules import load_profile
    from formcheck.live.capture import SourceInfo
    from formcheck.live.engine import LiveAnalyzer
    from formcheck.live.results import LiveResult, LiveStats, analyse, save_results

    an = LiveAnalyzer(load_profile("hip_thrust"), TRACK.fps, TRACK.width, TRACK.height)
    for i in range(TRACK.n_frames):
        fp = FramePose(TRACK.image[i], TRACK.world[i], TRACK.visibility[i], TRACK.presence[i])
        an.update(i, fp, 120.0)
    an.finish()
    info = SourceInfo("camera", "0", TRACK.fps, TRACK.width, TRACK.height)
    stats = LiveStats(frames_read=TRACK.n_frames)
    result = LiveResult(None, [], [], [], stats, {}, tmp_path / "o", "live-x")
    result.analysis = analyse(an, info, resolve_model("full"), stats)
    monkeypatch.setattr(fsutil.os, "fsync", _enospc)
    with pytest.raises(OutputError, match="No space left on device"):
        save_results(result, an, info, None, False, False, print)
    assert leftovers(tmp_path) == []


def _limit_file_size(limit: int):
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return pre


def test_video_writer_on_a_full_disk_publishes_nothing(clips, tmp_path):
    """OpenCV's writer reports no error when the disk fills: the file must still never appear
    cut under its final name. A real limit on file size (no model: a saved track)."""
    track = _track_file(tmp_path, clips["full"])
    out = tmp_path / "o"
    p = subprocess.run(
        [sys.executable, "-m", "formcheck", "analyze", "--track", track, "--out", out, "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size(80_000),  # the CSVs and JSON fit, the video (136 kB) does not
    )
    assert p.returncode == 2, p.stderr
    line = one_error_line(p.stderr)
    assert "full.annotated.mp4" in line, line
    assert not (out / "full.annotated.mp4").exists() and not (out / "full.json").exists()
    assert leftovers(out) == []
    # without the limit the same command works
    p = subprocess.run(
        [sys.executable, "-m", "formcheck", "analyze", "--track", track, "--out", out, "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    cap = cv2.VideoCapture(str(out / "full.annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == TRACK.n_frames
    cap.release()


def test_concurrent_analyze_runs_share_one_out(clips, tmp_path):
    track = _track_file(tmp_path, clips["full"])
    out = tmp_path / "o"
    args = [sys.executable, "-m", "formcheck", "analyze", "--out", out, "-q"]
    args += ["--track", track] * 4
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert leftovers(out) == []
    Session.load(out / "full.json")
    cap = cv2.VideoCapture(str(out / "full.annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == TRACK.n_frames
    cap.release()


# ------------------------------------------------------------------ 3. batch and damage


def _done_result(tmp_path: Path, stem: str) -> batch.Job:
    """A finished batch result for ``stem`` in ``tmp_path``: sidecar, JSON and CSVs."""
    from formcheck.analysis import analyze_track
    from formcheck.sinks.files import write_outputs

    files = write_outputs(analyze_track(TRACK), tmp_path, stem=stem, write_video=False)
    sc = {"key": "k1", "status": "ok", "outputs": files}
    (tmp_path / f"{stem}{batch.DONE_SUFFIX}").write_text(json.dumps(sc))
    return batch.Job(path=tmp_path / "v.mp4", display="v.mp4", stem=stem, key="k1")


@pytest.mark.parametrize(
    "damage",
    ["emptied json", "not json", "not a result", "csv emptied", "csv gone", "track emptied"],
)
def test_damaged_result_is_redone(tmp_path, damage):
    job = _done_result(tmp_path, "v-0123456789")
    assert batch.done_state(tmp_path, job, False)[0] == "ok"
    j, csv = tmp_path / "v-0123456789.json", tmp_path / "v-0123456789.frames.csv"
    if damage == "emptied json":
        j.write_bytes(b"")
    elif damage == "not json":
        j.write_text(j.read_text()[:100])
    elif damage == "not a result":
        j.write_text('{"schema": "formcheck.session", "schema_version": "1.4"}')
    elif damage == "csv emptied":
        csv.write_text("")
    elif damage == "csv gone":
        csv.unlink()
    elif damage == "track emptied":
        (tmp_path / "v-0123456789.track.npz").write_bytes(b"")
    assert batch.done_state(tmp_path, job, False)[0] == "pending"


def test_json_listing_a_missing_file_is_redone(tmp_path):
    job = _done_result(tmp_path, "v-0123456789")
    j = tmp_path / "v-0123456789.json"
    d = json.loads(j.read_text())
    d["files"]["annotated_video"] = "v-0123456789.annotated.mp4"
    j.write_text(json.dumps(d))
    assert batch.done_state(tmp_path, job, False)[0] == "pending"


def test_second_batch_on_one_folder_is_refused(clips, tmp_path, capsys):
    """Another process (here a child holding the lock) runs a batch on --out."""
    out = tmp_path / "o"
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from formcheck.fsutil import exclusive_lock\n"
            f"with exclusive_lock({str(out / ledger.LOCK_FILE)!r}) as got:\n"
            "    print(got, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "True"
        code, _, err = run_cli(["batch", clips["full"], "--out", out, "-q"], capsys)
        assert code == 2
        assert f"another batch is running on {out}" in one_error_line(err)
    finally:
        holder.kill()
        holder.wait()
    with batch_lock(out) as got:  # released with the process, also on kill -9
        assert got


def batch_lock(out: Path):
    from formcheck.fsutil import exclusive_lock

    return exclusive_lock(out / ledger.LOCK_FILE)


@pytest.mark.slow
def test_two_concurrent_batches_analyse_each_video_once(tmp_path):
    from test_batch import analysed_counts, cut_clip

    d = tmp_path / "in"
    d.mkdir()
    for k in range(2):
        cut_clip(SAMPLE, d / f"v{k}.mp4", 40 * k, 40 * k + 30, max_width=427)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "formcheck", "batch", d, "--out", out, "--no-video", "-q"]
    args += ["--workers", "1"]
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    refused = next(err for rc, err in results if rc == 2)
    assert "another batch is running on" in refused
    assert set(analysed_counts(out).values()) == {1}
    assert len(analysed_counts(out)) == 2


# ------------------------------------------------------------------ 4. Dask worker death


def test_infrastructure_errors_are_not_the_videos():
    pytest.importorskip("distributed", reason="dask[distributed] not installed")
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    from formcheck.batch.dask import is_infrastructure

    for exc in (
        FutureCancelledError("k", reason="lost dependencies"),
        KilledWorker("k", "tcp://x", None),
        CommClosedError("gone"),
        TimeoutError(),
    ):
        assert is_infrastructure(exc), exc
    assert not is_infrastructure(ValueError("bug"))


def test_old_lost_task_sidecar_is_redone(tmp_path):
    job = batch.Job(path=tmp_path / "v.mp4", display="v.mp4", stem="v-0123456789", key="k1")
    sc = {
        "key": "k1",
        "status": "failed",
        "error": "cluster task failed: FutureCancelledError: formcheck-v-0123456789-ab "
        "cancelled for reason: lost dependencies.",
    }
    (tmp_path / f"v-0123456789{batch.DONE_SUFFIX}").write_text(json.dumps(sc))
    assert batch.done_state(tmp_path, job, False)[0] == "pending"
    sc["error"] = "v.mp4 is empty (0 bytes)"
    (tmp_path / f"v-0123456789{batch.DONE_SUFFIX}").write_text(json.dumps(sc))
    assert batch.done_state(tmp_path, job, False)[0] == "failed"


@pytest.fixture(scope="module")
def five_clips(tmp_path_factory) -> list[Path]:
    from test_batch import cut_clip

    d = tmp_path_factory.mktemp("five")
    return [
        cut_clip(SAMPLE, d / f"v{k}.mp4", 120 * k, 120 * k + 48, max_width=427) for k in range(5)
    ]


def _kill_busy_workers(client, pids: dict, running: threading.Thread, n: int) -> list[str]:
    """SIGKILL the process of each of ``n`` different workers while it runs a video (as long
    as the batch is ``running``)."""
    killed: list[str] = []
    while running.is_alive() and len(killed) < n:
        for addr, keys in client.processing().items():
            if (
                addr in pids
                and addr not in killed
                and any(str(k).startswith("formcheck-") and "-model-" not in str(k) for k in keys)
            ):
                time.sleep(0.5)  # well into the video
                os.kill(pids[addr], signal.SIGKILL)
                killed.append(addr)
                break
        time.sleep(0.02)
    return killed


@pytest.mark.slow
def test_dask_worker_killed_mid_run(five_clips, tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed")
    out = tmp_path / "out"
    box: dict = {}

    def run() -> None:
        try:
            box["res"] = batch.run_batch(
                five_clips, out, scheduler=box["address"], write_video=False
            )
        except BaseException as exc:  # noqa: BLE001
            box["exc"] = exc

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        box["address"] = cluster.scheduler_address
        th = threading.Thread(target=run)
        th.start()
        killed = _kill_busy_workers(client, pids, th, n=2)  # every worker dies once
        th.join(600)
        assert "exc" not in box, box.get("exc")
        res = box["res"]
        assert len(killed) == 2, "the run ended before the workers could be killed"
        assert [r["status"] for r in res.rows] == ["ok"] * 5, [r.get("error") for r in res.rows]
        assert res.failed == 0 and res.analysed == 5
        again = batch.run_batch(
            five_clips, out, scheduler=cluster.scheduler_address, write_video=False
        )
        assert again.analysed == 0 and again.skipped == 5 and again.failed == 0
    for r in res.rows:
        Session.load(out / f"{r['stem']}.json")
