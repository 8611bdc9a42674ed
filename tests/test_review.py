"""Tests for the review web app (formcheck.review) and its command (formcheck.cli.review),
through Starlette's TestClient."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")

from formcheck.analysis import analyze_track  # noqa: E402
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track  # noqa: E402
from formcheck.core.track import LM  # noqa: E402
from formcheck.errors import InputError  # noqa: E402
from formcheck.fsutil import TMP_MARK  # noqa: E402
from formcheck.sinks.files import write_outputs  # noqa: E402

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from formcheck.cli.review import command as review_command  # noqa: E402
from formcheck.review import routes as review_routes  # noqa: E402
from formcheck.review.app import create_app  # noqa: E402
from formcheck.review.security import CSRF_COOKIE  # noqa: E402
from formcheck.review.store import Store, open_store  # noqa: E402

FAULTY_REPS = [SynthRep(), SynthRep(peak_deg=160), SynthRep(hold_s=0.5, lower_s=0.8)]


def render_video(track, path: Path) -> Path:
    """A stick-figure video of a synthetic track (MPEG-4 Part 2, like OpenCV writes)."""
    import cv2

    w = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*"mp4v"), track.fps, (track.width, track.height)
    )
    bones = [
        ("left_shoulder", "left_hip"),
        ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"),
        ("left_ankle", "left_heel"),
        ("left_heel", "left_foot_index"),
        ("left_shoulder", "nose"),
    ]
    for i in range(track.n_frames):
        f = np.full((track.height, track.width, 3), 60, np.uint8)
        p = track.image[i, :, :2]
        for a, b in bones:
            cv2.line(
                f,
                tuple(int(v) for v in p[LM[a]]),
                tuple(int(v) for v in p[LM[b]]),
                (230, 230, 230),
                6,
            )
        w.write(f)
    w.release()
    return path


def make_result(
    out: Path, name: str = "set1", reps=None, video: bool = True, exercise: str = "hip_thrust"
) -> Path:
    """Analyse a synthetic set into ``out`` like ``formcheck analyze`` does; the json path."""
    out.mkdir(parents=True, exist_ok=True)
    spec = SynthSpec(reps=list(reps or FAULTY_REPS), width=480, height=270)
    track, _ = make_track(spec)
    src = None
    if video:
        src = render_video(track, out / f"{name}.mp4")
        track.meta["source"] = str(src)
    a = analyze_track(track, exercise, video_meta={"name": f"{name}.mp4"})
    write_outputs(a, out, video_path=src, write_video=video, stem=name)
    return out / f"{name}.json"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    make_result(root / "alice", "set1")
    make_result(
        root / "bob", "set2", reps=[SynthRep(), SynthRep()], video=False, exercise="glute_bridge"
    )
    return root


@pytest.fixture()
def store(results, tmp_path):
    st = open_store(f"sqlite:///{tmp_path / 'review.sqlite'}")
    st.import_dir(results)
    return st


def client(app, **kw) -> TestClient:
    return TestClient(app, **kw)


def csrf_of(c: TestClient) -> str:
    c.get("/")
    return c.cookies.get(CSRF_COOKIE)


def set_id(store, stem: str) -> int:
    return next(s["id"] for s in store.list_sets() if s["stem"] == stem)


def post_review(c, fid, verdict="agree", note="", **kw):
    headers = {"x-csrf-token": csrf_of(c)} | kw.pop("headers", {})
    return c.post(
        f"/api/findings/{fid}/review",
        json={"verdict": verdict, "note": note, **kw},
        headers=headers,
    )


# -- pages -----------------------------------------------------------------------------------
def test_list_and_filters(store):
    c = client(create_app(store))
    r = c.get("/")
    assert r.status_code == 200 and "set1.mp4" in r.text and "set2.mp4" in r.text
    assert "set2.mp4" not in c.get("/?athlete=alice").text
    assert "set1.mp4" in c.get("/?athlete=alice").text
    assert "set1.mp4" not in c.get("/?exercise=glute_bridge").text
    assert "set1.mp4" in c.get("/?fault=sag").text
    assert "set2.mp4" not in c.get("/?fault=sag").text
    day = store.list_sets()[0]["set_date"]
    assert "set1.mp4" in c.get(f"/?date={day}").text
    assert "set1.mp4" not in c.get("/?date=1999-01-01").text


def test_set_page_has_player_plot_reps_and_findings(store):
    c = client(create_app(store))
    sid = set_id(store, "set1")
    r = c.get(f"/sets/{sid}")
    assert r.status_code == 200
    assert f'src="/sets/{sid}/video"' in r.text and f"/sets/{sid}/plot.png" in r.text
    assert r.text.count('class="rep-row') == 3
    assert 'data-verdict="overrule"' in r.text
    data = json.loads(r.text.split('id="set-data">')[1].split("</script>")[0])
    assert data["reps"][1]["flagged"] and len(data["plot_axes"]) == 4
    f = store.session(sid).reps[1].findings[0]  # each finding shows its confidence
    assert f.confidence is not None and f"confidence {100 * f.confidence:.0f} %" in r.text
    assert c.get(f"/sets/{sid}/plot.png").content[:8] == b"\x89PNG\r\n\x1a\n"
    assert c.get(f"/sets/{sid}/thumb/2.jpg").content[:2] == b"\xff\xd8"
    assert c.get("/sets/999").status_code == 404
    # a set without video says so instead of showing a broken player
    r = c.get(f"/sets/{set_id(store, 'set2')}")
    assert "No video for this set" in r.text and "<video" not in r.text


def test_h264_video_is_served_as_it_is_with_ranges(store):
    """The annotated video formcheck writes today is H.264: served as it is, no WebM made."""
    c = client(create_app(store))
    sid = set_id(store, "set1")
    base = Path(store.get_set(sid)["base_dir"])
    r = c.get(f"/sets/{sid}/video")
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.content == (base / "set1.annotated.mp4").read_bytes() and r.content[4:8] == b"ftyp"
    r = c.get(f"/sets/{sid}/video", headers={"range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    assert c.get(f"/sets/{set_id(store, 'set2')}/video").status_code == 404
    assert not list(base.parent.rglob("*.webm")) and not list(base.parent.rglob("*.fctmp*"))


def old_mp4v_result(tmp_path: Path) -> Store:
    """A store with one set whose annotated video is MPEG-4 Part 2, as formcheck wrote it
    before H.264 (here: the stick-figure source, written with OpenCV's 'mp4v')."""
    jp = make_result(tmp_path / "runs" / "carl", "old", reps=[SynthRep()])
    (jp.parent / "old.annotated.mp4").write_bytes((jp.parent / "old.mp4").read_bytes())
    st = Store(tmp_path / "s.sqlite")
    st.import_dir(tmp_path / "runs")
    return st


def test_old_mp4v_video_is_transcoded_to_webm_with_ranges(tmp_path):
    st = old_mp4v_result(tmp_path)
    c = client(create_app(st))
    sid = set_id(st, "old")
    r = c.get(f"/sets/{sid}/video")
    assert r.status_code == 200 and r.headers["content-type"] == "video/webm"
    assert r.content[:4] == b"\x1a\x45\xdf\xa3"  # EBML (Matroska/WebM)
    assert Path(st.get_set(sid)["base_dir"], "old.review.webm").is_file()
    r = c.get(f"/sets/{sid}/video", headers={"range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    assert not list(tmp_path.rglob("*.fctmp*"))


def test_stopped_transcode_leaves_no_temporary_file(tmp_path, monkeypatch):
    """The app exiting in the middle of a transcode (its atexit hook) stops it, and the
    temporary WebM is deleted; a leftover of a killed app is removed by the next transcode."""
    from formcheck.review import media

    st = old_mp4v_result(tmp_path)
    s = st.get_set(set_id(st, "old"))
    base = Path(s["base_dir"])
    monkeypatch.setattr(media, "_STOP", threading.Event())
    real = media._scaled_frames
    seen = []

    def stop_midway(cap, max_width):
        for k, frame in enumerate(real(cap, max_width)):
            if k == 5:
                seen.extend(base.glob(".old.review.*.fctmp.webm"))  # being written
                threading.Thread(target=media.stop_transcodes, daemon=True).start()
                while not media._STOP.is_set():
                    pass
            yield frame

    monkeypatch.setattr(media, "_scaled_frames", stop_midway)
    with pytest.raises(InputError, match="stopped"):
        media.ensure_webm(s, tmp_path / "cache")
    assert seen, "the transcode had a temporary file"
    assert not list(base.glob("*.webm")) and not list(base.glob(".*"))
    # a killed app's temporary file (its process is gone) is removed before the next transcode
    monkeypatch.setattr(media, "_STOP", threading.Event())
    monkeypatch.setattr(media, "_scaled_frames", real)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = base / f".old.review.{dead.pid}.0123abcd{TMP_MARK}.webm"
    stale.write_bytes(b"cut")
    os.utime(stale, (time.time() - 120, time.time() - 120))  # not written for 2 minutes
    mine = base / f".old.review.{os.getpid()}.0123abcd{TMP_MARK}.webm"  # a live process's
    mine.write_bytes(b"busy")
    assert media.ensure_webm(s, tmp_path / "cache") == base / "old.review.webm"
    assert not stale.exists() and mine.exists()


# -- reviews ---------------------------------------------------------------------------------
def test_review_saved_and_survives_restart(store):
    c = client(create_app(store, reviewer="coach-default"))
    sid = set_id(store, "set1")
    f = next(f for f in store.findings(sid) if f["rule"] == "sag")
    r = post_review(c, f["id"], "overrule", "Looked straight to me", reviewer="Ann")
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "overrule" and r.json()["reviewer"] == "Ann"
    r = post_review(c, f["id"], "agree", "")  # no name given: the --reviewer default
    assert r.json()["reviewer"] == "coach-default"
    # "restart": a new store handle and app on the same file
    st2 = Store(store.path)
    c2 = client(create_app(st2))
    page = c2.get(f"/sets/{sid}").text
    assert 'data-verdict="agree" aria-pressed="true"' in page
    assert [h["verdict"] for h in st2.review_history(sid)] == ["overrule", "agree"]


def test_bad_review_requests(store):
    c = client(create_app(store))
    f = store.findings(set_id(store, "set1"))[0]
    assert post_review(c, f["id"], "maybe").status_code == 400
    assert post_review(c, 99999, "agree").status_code == 404
    tok = csrf_of(c)
    r = c.post(
        f"/api/findings/{f['id']}/review",
        content=b"verdict=agree",
        headers={"x-csrf-token": tok, "content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415


def test_athlete_edit(store):
    c = client(create_app(store))
    sid = set_id(store, "set1")
    r = c.post(
        f"/api/sets/{sid}/athlete",
        json={"athlete": "Alice B."},
        headers={"x-csrf-token": csrf_of(c)},
    )
    assert r.status_code == 200 and r.json()["athlete"] == "Alice B."
    assert store.get_set(sid)["athlete_source"] == "edited"
    assert "Alice B." in c.get("/").text


# -- exports ---------------------------------------------------------------------------------
def test_exports_csv_json_report(store):
    c = client(create_app(store))
    sid = set_id(store, "set1")
    f = next(f for f in store.findings(sid) if f["rule"] == "sag")
    post_review(c, f["id"], "overrule", '=HYPERLINK("x") hips fine', reviewer="Ann")
    r = c.get(f"/sets/{sid}/export.csv")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(r.text)))
    sag = next(x for x in rows if x["rule"] == "sag")
    assert sag["verdict"] == "overrule" and sag["reviewer"] == "Ann" and sag["rep"] == "2"
    assert sag["note"].startswith("'=")  # spreadsheet formula neutralised
    assert {x["rep"] for x in rows} >= {"1", "2", "3"}
    doc = c.get(f"/sets/{sid}/export.json").json()
    assert doc["schema"] == "formcheck.review"
    assert any(x["verdict"] == "overrule" for x in doc["findings"])
    assert doc["review_history"] and doc["session"]["rep_count"] == 3
    r = c.get(f"/sets/{sid}/report.html")
    assert r.status_code == 200 and "overruled by coach" in r.text
    assert "=HYPERLINK(&#34;x&#34;) hips fine" in r.text
    assert "attachment" in r.headers["content-disposition"]


# -- security --------------------------------------------------------------------------------
def test_notes_and_names_are_escaped(store):
    c = client(create_app(store))
    sid = set_id(store, "set1")
    f = store.findings(sid)[0]
    evil = "<script>alert('x')</script>"
    assert post_review(c, f["id"], "unsure", evil, reviewer=evil).status_code == 200
    c.post(f"/api/sets/{sid}/athlete", json={"athlete": evil}, headers={"x-csrf-token": csrf_of(c)})
    for url in (f"/sets/{sid}", "/", f"/sets/{sid}/report.html"):
        text = c.get(url).text
        assert "<script>alert" not in text, url
        assert "&lt;script&gt;alert" in text, url
    r = c.get(f"/sets/{sid}")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_csrf_protection(store):
    c = client(create_app(store))
    f = store.findings(set_id(store, "set1"))[0]
    url = f"/api/findings/{f['id']}/review"
    body = {"verdict": "agree"}
    tok = csrf_of(c)
    assert c.post(url, json=body).status_code == 403  # no token
    assert c.post(url, json=body, headers={"x-csrf-token": "x" * 43}).status_code == 403
    assert (
        c.post(
            url, json=body, headers={"x-csrf-token": tok, "origin": "http://evil.example"}
        ).status_code
        == 403
    )
    assert (
        c.post(
            url, json=body, headers={"x-csrf-token": tok, "sec-fetch-site": "cross-site"}
        ).status_code
        == 403
    )
    assert (
        c.post(
            url,
            json=body,
            headers={
                "x-csrf-token": tok,
                "origin": "http://testserver",
                "sec-fetch-site": "same-origin",
            },
        ).status_code
        == 200
    )
    # another browser (its own cookie) cannot reuse this token
    other = client(create_app(store))
    other.get("/")
    assert other.post(url, json=body, headers={"x-csrf-token": tok}).status_code == 403
    assert store.review_history(set_id(store, "set1"))[-1]["verdict"] == "agree"
    assert len(store.review_history(set_id(store, "set1"))) == 1


def test_token_required_on_every_request(store):
    token = "s3cret-token-123"
    app = create_app(store, token=token)
    sid = set_id(store, "set1")
    anon = client(app)
    for url in (
        "/",
        f"/sets/{sid}",
        f"/sets/{sid}/video",
        f"/media/{sid}/set1.json",
        f"/sets/{sid}/export.csv",
        "/static/app.js",
    ):
        assert anon.get(url).status_code == 401, url
    assert anon.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert anon.get("/?token=wrong").status_code == 401
    assert anon.get("/", headers={"authorization": f"Bearer {token}"}).status_code == 200
    assert (
        anon.get(f"/sets/{sid}/video", headers={"authorization": f"Bearer {token}"}).status_code
        == 200
    )
    # ?token= sets an HttpOnly cookie and redirects to the address without the token
    c = client(app, follow_redirects=False)
    r = c.get(f"/sets/{sid}?token={token}")
    assert r.status_code == 303 and r.headers["location"] == f"/sets/{sid}"
    assert "httponly" in r.headers["set-cookie"].lower()
    assert c.get(f"/sets/{sid}").status_code == 200
    assert c.get(f"/sets/{sid}/video").status_code == 200
    # the token does not replace the CSRF check
    f = store.findings(sid)[0]
    assert c.post(f"/api/findings/{f['id']}/review", json={"verdict": "agree"}).status_code == 403


def test_host_header_checked_without_token(store):
    app = create_app(store, allowed_hosts=["127.0.0.1", "localhost"])
    c = client(app, base_url="http://127.0.0.1:8000")
    assert c.get("/").status_code == 200
    assert c.get("/", headers={"host": "evil.example:8000"}).status_code == 400


def test_file_serving_restricted(store):
    c = client(create_app(store))
    sid = set_id(store, "set1")
    assert c.get(f"/media/{sid}/set1.json").status_code == 200
    assert c.get(f"/media/{sid}/set1.annotated.mp4").status_code == 200
    for name in (
        "..%2F..%2Fformcheck.sqlite",
        "..%2Fbob%2Fset2.json",
        "%2Fetc%2Fpasswd",
        "..",
        "set1.track.npz",
        "set1.mp4",
        "..%5Cset1.json",
        "%2e%2e%2fset1.json",
        "review.sqlite",
        "",
    ):
        r = c.get(f"/media/{sid}/{name}")
        assert r.status_code == 404, name
    assert c.get(f"/media/{set_id(store, 'set2')}/set1.json").status_code == 404


def test_concurrent_reviewers_lose_nothing(store):
    sid = set_id(store, "set1")
    fids = [f["id"] for f in store.findings(sid)]
    app = create_app(store)
    errors = []

    def reviewer(name):
        c = client(app)
        for i in range(15):
            r = post_review(
                c,
                fids[i % len(fids)],
                "agree" if i % 2 else "overrule",
                f"{name} {i}",
                reviewer=name,
            )
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in ("ann", "ben", "cat")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    notes = {h["note"] for h in store.review_history(sid)}
    assert notes == {f"{n} {i}" for n in ("ann", "ben", "cat") for i in range(15)}


# -- the command -----------------------------------------------------------------------------
def _run_command(args, monkeypatch, env=None):
    import uvicorn
    from click.testing import CliRunner

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(app=app, **kw))
    r = CliRunner().invoke(review_command, args, env=env or {})
    return r, calls


def test_command_defaults_to_loopback_and_imports(results, tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'x.sqlite'}"
    r, calls = _run_command(
        [str(results), "--db", db, "--port", "8123", "--no-prepare"], monkeypatch
    )
    assert r.exit_code == 0, r.output
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8123
    assert {s["stem"] for s in open_store(db).list_sets()} == {"set1", "set2"}
    assert {s["athlete"] for s in open_store(db).list_sets()} == {"alice", "bob"}


def test_command_other_address_needs_token(results, tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'x.sqlite'}"
    r, calls = _run_command(
        [str(results), "--db", db, "--host", "0.0.0.0", "--no-prepare"], monkeypatch
    )
    assert r.exit_code != 0 and "token" in str(r.exception or r.output) and not calls
    r, calls = _run_command(
        [str(results), "--db", db, "--host", "0.0.0.0", "--no-prepare"],
        monkeypatch,
        env={"FORMCHECK_REVIEW_TOKEN": "env-token-123"},
    )
    assert r.exit_code == 0, r.output
    assert calls["host"] == "0.0.0.0"
    c = TestClient(calls["app"])
    assert c.get("/").status_code == 401
    assert c.get("/", headers={"authorization": "Bearer env-token-123"}).status_code == 200


def test_cli_group_loads_review_and_report():
    from click.testing import CliRunner

    from formcheck.cli import cli

    r = CliRunner().invoke(cli, ["review", "--help"])
    assert r.exit_code == 0 and "--token" in r.output
    r = CliRunner().invoke(cli, ["report", "--help"])
    assert r.exit_code == 0 and "RESULT" in r.output


def test_new_results_show_up_without_restart(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    make_result(root / "eve", "first", reps=[SynthRep(), SynthRep()], video=False)
    st = open_store(root)
    st.import_dir(root)
    monkeypatch.setattr(review_routes, "RESCAN_S", 0.0)
    c = client(create_app(st, import_dir=root))
    assert "first.mp4" in c.get("/").text
    make_result(root / "eve", "second", reps=[SynthRep()], video=False)
    assert "second.mp4" in c.get("/").text


def test_analyze_writes_no_store_review_imports(tmp_path, monkeypatch):
    """`formcheck analyze` leaves the store alone; `formcheck review DIR` imports what it finds
    under DIR into DIR/formcheck.sqlite, once."""
    from click.testing import CliRunner

    from formcheck.cli import cli
    from formcheck.review.store import DB_NAME

    src = tmp_path / "src"
    make_result(src, "set1", video=False)
    out = tmp_path / "runs"
    r = CliRunner().invoke(
        cli, ["analyze", "--track", str(src / "set1.track.npz"), "--out", str(out / "alice"), "-q"]
    )
    assert r.exit_code == 0, r.output
    (jp,) = (out / "alice").glob("*.json")
    assert not list(tmp_path.rglob(DB_NAME))  # nothing written silently
    r, calls = _run_command([str(out), "--no-prepare"], monkeypatch)
    assert r.exit_code == 0, r.output
    assert "imported 1 result(s)" in r.output and calls["port"] == 8000
    assert (out / DB_NAME).is_file() and [p.parent for p in tmp_path.rglob(DB_NAME)] == [out]
    assert [(s["stem"], s["athlete"]) for s in open_store(out).list_sets()] == [(jp.stem, "alice")]
    r, _ = _run_command([str(out), "--no-prepare"], monkeypatch)
    assert r.exit_code == 0 and "imported" not in r.output
