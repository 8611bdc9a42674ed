"""Tests for the static HTML report (formcheck.sinks.report)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from formcheck.analysis import analyze_track
from formcheck.core.session import Session
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.sinks.files import write_outputs
from formcheck.sinks.plots import angle_plot_png
from formcheck.sinks.report import load_frames, write_report
from formcheck.sinks.scoring import form_score, normalize_reviews, rep_score

REPS = [SynthRep(), SynthRep(peak_deg=160), SynthRep(hold_s=0.5, lower_s=0.8)]


def _analyse(out: Path, name="set1", reps=REPS, video=False):
    track, _ = make_track(SynthSpec(reps=list(reps), width=480, height=270))
    src = None
    if video:
        from test_review import render_video

        src = render_video(track, out / f"{name}.mp4")
        track.meta["source"] = str(src)
    a = analyze_track(track, "hip_thrust", video_meta={"name": f"{name}.mp4"})
    write_outputs(a, out, video_path=src, write_video=video, stem=name)
    return a.session, out / f"{name}.json"


@pytest.fixture(scope="module")
def with_video(tmp_path_factory):
    out = tmp_path_factory.mktemp("v")
    return _analyse(out, video=True)


@pytest.fixture(scope="module")
def no_video(tmp_path_factory):
    out = tmp_path_factory.mktemp("nv")
    return _analyse(out, video=False)


def _images(html: str) -> list[str]:
    return re.findall(r'src="([^"]+)"', html)


@pytest.mark.slow  # renders and re-reads a synthetic video (~6 s)
def test_report_is_self_contained(with_video, tmp_path):
    session, jp = with_video
    out = write_report(session, tmp_path / "r.html", base_dir=jp.parent)
    html = out.read_text("utf-8")
    assert html.startswith("<!doctype html>")
    srcs = _images(html)
    assert srcs and all(s.startswith("data:image/") for s in srcs)
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere
    assert "<script" not in html
    # the plot, a still per clean rep, an animation per flagged rep (its clip, sinks.clips)
    # and the best rep beside the worst, all decodable
    assert sum(s.startswith("data:image/png;base64,") for s in srcs) == 1
    jpegs = [s for s in srcs if s.startswith("data:image/jpeg;base64,")]
    webps = [s for s in srcs if s.startswith("data:image/webp;base64,")]
    n_flagged = sum(1 for r in session.reps if r.findings)
    assert n_flagged == 2 and len(webps) == n_flagged
    assert len(jpegs) == session.rep_count - n_flagged + 1  # + best vs worst
    assert base64.b64decode(jpegs[0].split(",", 1)[1])[:2] == b"\xff\xd8"
    assert base64.b64decode(webps[0].split(",", 1)[1])[8:12] == b"WEBP"
    # summary, per-rep values against thresholds, cues
    assert "form score" in html and "reps without faults" in html
    assert "Hips short of straight" in html and "170–190°" in html
    assert session.reps[1].findings[0].cue in html
    c = session.reps[1].findings[0].confidence
    assert c is not None and f"confidence {100 * c:.0f} %" in html
    assert "Rep 3" in html and "≥ 1.5 s" in html


def test_report_degrades_without_video_or_frames(no_video, tmp_path):
    session, jp = no_video
    html = write_report(session, tmp_path / "r.html", base_dir=jp.parent).read_text()
    assert "no video frame" in html and "data:image/png;base64," in html
    html = write_report(session, tmp_path / "r2.html", base_dir=None).read_text()
    assert "data:image/png;base64," in html  # plot still drawn (empty, with a note)


def test_camera_warning_and_escaping(no_video, tmp_path):
    session, jp = no_video
    s = Session.from_dict(session.to_dict())
    s.camera.warning = "camera <b>too</b> high & behind"
    s.reps[1].findings[0].message = "<script>alert(1)</script>"
    s.video.name = "<img src=x onerror=alert(1)>.mp4"
    html = write_report(s, tmp_path / "r.html", base_dir=jp.parent).read_text()
    assert "camera &lt;b&gt;too&lt;/b&gt; high &amp; behind" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_reviews_in_report(no_video, tmp_path):
    session, jp = no_video
    reviews = {
        (2, "sag"): {
            "verdict": "overrule",
            "note": "Looked fine <really>",
            "reviewer": "Ann",
            "time": "2026-01-02T03:04:05+00:00",
        }
    }
    html = write_report(
        session, tmp_path / "r.html", base_dir=jp.parent, reviews=reviews
    ).read_text()
    assert "overruled by coach" in html and "Looked fine &lt;really&gt;" in html
    assert "Ann" in html and "after the coach's review" in html
    # the list form is accepted too
    assert normalize_reviews([{"rep": 2, "rule": "sag", "verdict": "agree"}]) == {
        (2, "sag"): {"rep": 2, "rule": "sag", "verdict": "agree"}
    }


def test_form_score_definition(no_video):
    session, _ = no_video
    assert rep_score([]) == 1.0
    assert rep_score(["sag"]) == 0.5
    assert rep_score(["sag", "hyperextension", "heel_lift"]) == 0.0  # floored at 0
    expected = 100 * sum(rep_score(r.faults) for r in session.reps) / session.rep_count
    assert form_score(session) == pytest.approx(expected)
    # overruling every fault of every rep gives a perfect score
    all_over = {(r.index, f): {"verdict": "overrule"} for r in session.reps for f in r.faults}
    assert form_score(session, all_over) == 100.0
    agree = {k: {"verdict": "agree"} for k in all_over}
    assert form_score(session, agree) == pytest.approx(expected)
    empty = Session.from_dict(session.to_dict())
    empty.reps = []
    assert form_score(empty) is None


def test_angle_plot(no_video):
    session, jp = no_video
    frames = load_frames(jp.parent / session.files["frames_csv"])
    assert frames is not None and len(frames["time_s"]) > 100
    png = angle_plot_png(session, frames)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert angle_plot_png(session, None)[:4] == b"\x89PNG"


def test_report_command(no_video, tmp_path):
    from formcheck.cli import cli

    session, jp = no_video
    out = tmp_path / "x.html"
    r = CliRunner().invoke(cli, ["report", str(jp), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "form score" in out.read_text()
    r = CliRunner().invoke(cli, ["report", str(tmp_path / "missing.json")])
    assert r.exit_code != 0


def test_report_command_includes_store_reviews(tmp_path):
    from formcheck.cli import cli
    from formcheck.review.store import open_store, record_session

    session, jp = _analyse(tmp_path, "s")
    sid = record_session(tmp_path, session, jp)
    st = open_store(tmp_path)
    f = next(f for f in st.findings(sid) if f["rule"] == "sag")
    st.add_review(f["id"], "agree", "drive higher", "Ann")
    r = CliRunner().invoke(cli, ["report", str(jp)])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "s.report.html").read_text()
    assert "confirmed by coach" in html and "drive higher" in html
    r = CliRunner().invoke(
        cli, ["report", str(jp), "--no-reviews", "--out", str(tmp_path / "plain.html")]
    )
    assert "confirmed by coach" not in (tmp_path / "plain.html").read_text()


def test_analyze_track_report_and_store_hooks(no_video, tmp_path, monkeypatch):
    """`formcheck analyze --track X --report` writes the report and no review store; the
    store is written by `formcheck review DIR`, which records the set."""
    import uvicorn

    from formcheck.cli import cli
    from formcheck.review.store import DB_NAME, open_store

    session, jp = no_video
    track = jp.parent / session.files["track"]
    out = tmp_path / "out"
    r = CliRunner().invoke(
        cli, ["analyze", "--track", str(track), "--out", str(out), "--report", "-q"]
    )
    assert r.exit_code == 0, r.output
    reports = list(out.glob("*.report.html"))
    assert len(reports) == 1 and "form score" in reports[0].read_text()
    assert not (out / DB_NAME).exists()
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    r = CliRunner().invoke(cli, ["review", str(out), "--no-prepare"])
    assert r.exit_code == 0, r.output
    assert (out / DB_NAME).is_file() and len(open_store(out).list_sets()) == 1


def test_report_command_finds_review_store_above(tmp_path):
    """`formcheck review runs/` keeps its store in runs/, the result is in runs/alice/."""
    from formcheck.cli import cli
    from formcheck.review.store import open_store, record_session

    session, jp = _analyse(tmp_path / "alice", "s")
    record_session(tmp_path / "alice", session, jp)  # a store kept beside the result
    st = open_store(tmp_path)
    st.import_dir(tmp_path)
    sid = st.set_id_for(jp)
    f = next(f for f in st.findings(sid) if f["rule"] == "sag")
    st.add_review(f["id"], "overrule", "from the review store", "Ann")
    r = CliRunner().invoke(cli, ["report", str(jp)])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "alice" / "s.report.html").read_text()
    assert "from the review store" in html and "alice" in html
