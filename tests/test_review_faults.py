"""Faults and limits of `formcheck review` and `formcheck report` (issue #19): malformed result
files are skipped (review) or one line (report), a locked, corrupt or read-only store is one
line at start and a 503 while serving, request bodies and filters are bounded, the sets list is
paginated, media come only from inside the served folder, and token guesses are throttled."""

from __future__ import annotations

import copy
import json
import re
import sqlite3
import time
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")

from formcheck.analysis import analyze_track  # noqa: E402
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track  # noqa: E402
from formcheck.sinks.files import write_outputs  # noqa: E402

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from formcheck.cli import main  # noqa: E402
from formcheck.review import routes as review_routes  # noqa: E402
from formcheck.review import store as store_mod  # noqa: E402
from formcheck.review.app import create_app  # noqa: E402
from formcheck.review.security import CSRF_COOKIE  # noqa: E402
from formcheck.review.store import Store, open_store  # noqa: E402

BIG_ID = 10**30


# -- helpers ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> dict:
    """One valid result document (a synthetic set with faults, no video)."""
    out = tmp_path_factory.mktemp("seed")
    spec = SynthSpec(reps=[SynthRep(), SynthRep(peak_deg=160), SynthRep(hold_s=0.5)])
    track, _ = make_track(spec)
    a = analyze_track(track, "hip_thrust", video_meta={"name": "seed.mp4"})
    write_outputs(a, out, write_video=False, stem="seed")
    return json.loads((out / "seed.json").read_text())


def put(path: Path, doc) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def result_doc(seed: dict, name: str, **video) -> dict:
    d = copy.deepcopy(seed)
    d["video"].update({"name": f"{name}.mp4", "path": None, **video})
    return d


def tiny_video(path: Path, frames: int = 8) -> Path:
    import cv2
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(frames):
        w.write(np.full((48, 64, 3), 20 * i, np.uint8))
    w.release()
    return path


def nested(depth: int) -> str:
    """A result-looking JSON text with an array nested ``depth`` deep."""
    return '{"schema": "formcheck.session", "x": ' + "[" * depth + "]" * depth + "}"


def bad_results(seed: dict) -> dict[str, str | dict]:
    """Result files that are broken in the ways probes found, by file name."""
    wrong_rep = result_doc(seed, "wrong_rep")
    wrong_rep["reps"][0]["hold_s"] = "long"
    wrong_video = result_doc(seed, "wrong_video")
    wrong_video["video"]["path"] = 5
    wrong_created = result_doc(seed, "wrong_created")
    wrong_created["created_utc"] = 20260101
    camera_text = result_doc(seed, "camera_text")
    camera_text["camera"] = "side"
    huge_frame = result_doc(seed, "huge_frame")
    huge_frame["reps"][0]["start_frame"] = 10**30
    reps_object = result_doc(seed, "reps_object")
    reps_object["reps"] = {"1": {}}
    return {
        "wrong_rep.json": wrong_rep,
        "wrong_video.json": wrong_video,
        "wrong_created.json": wrong_created,
        "camera_text.json": camera_text,
        "huge_frame.json": huge_frame,
        "reps_object.json": reps_object,
        "truncated.json": json.dumps(result_doc(seed, "truncated"))[:300],
        "deep.json": nested(100_000),
    }


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture()
def no_uvicorn(monkeypatch):
    import uvicorn

    calls: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(app=app, **kw))
    return calls


def csrf_headers(c: TestClient) -> dict:
    c.get("/")
    return {"x-csrf-token": c.cookies.get(CSRF_COOKIE)}


def asgi_get(app, path: str, query: bytes = b"") -> int:
    """The status of a GET sent straight to the ASGI ``app`` (for URLs longer than httpx
    sends)."""
    import asyncio

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    try:
        asyncio.run(app(scope, receive, send))
    except Exception:  # noqa: BLE001 - an unhandled error is what a server answers 500 to
        return 500
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    return lines[0]


# -- malformed result files ------------------------------------------------------------------
def test_bad_result_files_are_skipped_and_listed(seed, tmp_path):
    root = tmp_path / "runs"
    put(root / "alice" / "good.json", result_doc(seed, "good"))
    bad = bad_results(seed)
    for name, doc in bad.items():
        put(root / "bob" / name, doc)
    st = Store(tmp_path / "s.sqlite")
    ids = st.import_dir(root)  # no exception
    assert [st.get_set(i)["stem"] for i in ids] == ["good"]
    r = TestClient(create_app(st, import_dir=root)).get("/")
    assert r.status_code == 200 and "good.mp4" in r.text
    assert f"{len(bad)} result files could not be read" in r.text
    for name in bad:
        assert name in r.text
    assert "nested" in r.text  # the reason is shown


def test_bad_result_appearing_later_does_not_break_the_list(seed, tmp_path, monkeypatch):
    root = tmp_path / "runs"
    put(root / "alice" / "good.json", result_doc(seed, "good"))
    st = Store(tmp_path / "s.sqlite")
    st.import_dir(root)
    monkeypatch.setattr(review_routes, "RESCAN_S", 0.0)
    c = TestClient(create_app(st, import_dir=root), raise_server_exceptions=False)
    assert c.get("/").status_code == 200
    for name, doc in bad_results(seed).items():
        put(root / "bob" / name, doc)
    for _ in range(2):  # every rescan, not just the first
        r = c.get("/")
        assert r.status_code == 200 and "good.mp4" in r.text and "wrong_video.json" in r.text
    put(root / "carol" / "later.json", result_doc(seed, "later"))
    assert "later.mp4" in c.get("/").text


def test_review_command_starts_with_bad_results(seed, tmp_path, capsys, no_uvicorn):
    root = tmp_path / "runs"
    put(root / "alice" / "good.json", result_doc(seed, "good"))
    put(root / "bob" / "deep.json", nested(100_000))
    put(root / "bob" / "wrong.json", bad_results(seed)["wrong_video.json"])
    code, _, err = run_cli(["review", str(root), "--no-prepare"], capsys)
    assert code == 0 and "Traceback" not in err, err
    assert "2 result files could not be read" in err and no_uvicorn["port"] == 8000
    assert [s["stem"] for s in open_store(root).list_sets()] == ["good"]


@pytest.mark.parametrize(
    "name, words",
    [
        ("wrong_rep.json", "hold_s"),
        ("wrong_video.json", "path"),
        ("camera_text.json", "camera"),
        ("reps_object.json", "reps"),
        ("huge_frame.json", "start_frame"),
        ("truncated.json", "JSON"),
        ("deep.json", "nested"),
    ],
)
def test_report_on_a_bad_result_is_one_line(name, words, seed, tmp_path, capsys):
    jp = put(tmp_path / name, bad_results(seed)[name])
    code, _, err = run_cli(["report", str(jp), "--no-reviews"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert name in line and words in line
    assert not (tmp_path / f"{jp.stem}.report.html").exists()


def test_report_still_works_on_a_valid_result(seed, tmp_path, capsys):
    jp = put(tmp_path / "good.json", result_doc(seed, "good"))
    code, out, err = run_cli(["report", str(jp)], capsys)
    assert code == 0, err
    assert (tmp_path / "good.report.html").is_file()


# -- a store that cannot be used ---------------------------------------------------------------
def test_corrupt_store_is_one_line_at_start(seed, tmp_path, capsys, no_uvicorn):
    root = tmp_path / "runs"
    put(root / "alice" / "good.json", result_doc(seed, "good"))
    (root / "formcheck.sqlite").write_bytes(b"this is not a database " * 200)
    code, _, err = run_cli(["review", str(root), "--no-prepare"], capsys)
    assert code == 2 and not no_uvicorn
    assert "corrupt" in one_error_line(err)


def test_truncated_store_is_one_line_at_start(seed, tmp_path, capsys, no_uvicorn):
    root = tmp_path / "runs"
    for k in range(30):
        put(root / "alice" / f"s{k}.json", result_doc(seed, f"s{k}"))
    db = tmp_path / "s.sqlite"
    st = Store(db)
    st.import_dir(root)
    with st.connect() as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(data[: len(data) // 2])
    code, _, err = run_cli(["review", str(root), "--db", f"sqlite:///{cut}"], capsys)
    assert code == 2 and not no_uvicorn
    assert "corrupt" in one_error_line(err)


def test_locked_store_is_one_line_at_start(seed, tmp_path, capsys, no_uvicorn, monkeypatch):
    root = tmp_path / "runs"
    put(root / "alice" / "good.json", result_doc(seed, "good"))
    db = tmp_path / "s.sqlite"
    Store(db)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program is writing
    monkeypatch.setattr(store_mod, "OPEN_TIMEOUT_S", 0.3, raising=False)
    try:
        t0 = time.monotonic()
        code, _, err = run_cli(["review", str(root), "--db", f"sqlite:///{db}"], capsys)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert code == 2 and not no_uvicorn and time.monotonic() - t0 < 10
    assert "locked" in one_error_line(err)


def read_only_sqlite(monkeypatch):
    """Every sqlite connection opens its file read-only (as a read-only mount would; the tests
    run as root, which chmod does not stop)."""
    real = sqlite3.connect

    def connect(path, *a, **kw):
        if str(path).startswith("file:"):
            return real(path, *a, **kw)
        kw["uri"] = True
        return real(f"file:{Path(path).resolve()}?mode=ro", *a, **kw)

    monkeypatch.setattr(sqlite3, "connect", connect)


def test_read_only_store_is_one_line_at_start(seed, tmp_path, capsys, no_uvicorn, monkeypatch):
    root = tmp_path / "runs"
    put(root / "alice" / "good.json", result_doc(seed, "good"))
    db = tmp_path / "s.sqlite"
    Store(db).import_dir(root)
    read_only_sqlite(monkeypatch)
    code, _, err = run_cli(["review", str(root), "--db", f"sqlite:///{db}"], capsys)
    assert code == 2 and not no_uvicorn
    assert "read-only" in one_error_line(err)


def test_store_going_bad_while_serving_is_a_503(seed, tmp_path, monkeypatch):
    root = tmp_path / "runs"
    put(root / "alice" / "good.json", result_doc(seed, "good"))
    db = tmp_path / "s.sqlite"
    st = Store(db)
    (sid,) = st.import_dir(root)
    fid = st.findings(sid)[0]["id"]
    c = TestClient(create_app(st), raise_server_exceptions=False)
    headers = csrf_headers(c)
    read_only_sqlite(monkeypatch)
    r = c.post(f"/api/findings/{fid}/review", json={"verdict": "agree"}, headers=headers)
    assert r.status_code == 503 and "read-only" in r.text and "Traceback" not in r.text
    monkeypatch.undo()
    for p in db.parent.glob("s.sqlite*"):
        p.unlink()
    db.write_bytes(b"garbage " * 1000)
    for url in ("/", f"/sets/{sid}", f"/api/sets/{sid}", f"/sets/{sid}/export.csv"):
        r = c.get(url)
        assert r.status_code == 503, (url, r.status_code)
        assert "corrupt" in r.text and "Traceback" not in r.text


# -- limits ------------------------------------------------------------------------------------
@pytest.fixture()
def one_set(seed, tmp_path):
    root = tmp_path / "runs"
    put(root / "alice" / "good.json", result_doc(seed, "good"))
    st = Store(tmp_path / "s.sqlite")
    (sid,) = st.import_dir(root)
    return st, sid


def test_request_body_is_limited(one_set):
    st, sid = one_set
    fid = st.findings(sid)[0]["id"]
    c = TestClient(create_app(st), raise_server_exceptions=False)
    h = csrf_headers(c)
    url = f"/api/findings/{fid}/review"
    assert c.post(url, json={"verdict": "agree", "note": "ok " * 1000}, headers=h).is_success
    r = c.post(url, json={"verdict": "agree", "note": "x" * 100_000}, headers=h)
    assert r.status_code == 413
    chunks = iter([b'{"verdict": "agree", "note": "', b"x" * 40_000, b"x" * 40_000, b'"}'])
    r = c.post(url, content=chunks, headers=h | {"content-type": "application/json"})
    assert r.status_code == 413
    r = c.post(f"/api/sets/{sid}/athlete", json={"athlete": "a" * 70_000}, headers=h)  # any write
    assert r.status_code == 413
    assert len(st.review_history(sid)) == 1


def test_oversized_ids_and_filters_are_client_errors(one_set):
    st, sid = one_set
    c = TestClient(create_app(st), raise_server_exceptions=False)
    h = csrf_headers(c)
    for url in (
        f"/sets/{BIG_ID}",
        f"/sets/{BIG_ID}/video",
        f"/sets/{BIG_ID}/plot.png",
        f"/sets/{sid}/thumb/{BIG_ID}.jpg",
        f"/sets/{BIG_ID}/export.csv",
        f"/media/{BIG_ID}/good.json",
        f"/api/sets/{BIG_ID}",
    ):
        assert c.get(url).status_code == 404, url
    r = c.post(f"/api/findings/{BIG_ID}/review", json={"verdict": "agree"}, headers=h)
    assert r.status_code == 404
    r = c.post(f"/api/sets/{BIG_ID}/athlete", json={"athlete": "x"}, headers=h)
    assert r.status_code == 404
    app = create_app(st)
    for q in ("date", "athlete", "exercise", "fault", "page"):
        r = c.get(f"/?{q}={'9' * 60_000}")  # httpx's longest URL is 64 KiB
        assert 400 <= r.status_code < 500, (q, r.status_code)
        status = asgi_get(app, "/", f"{q}={'9' * 100_000}".encode())
        assert 400 <= status < 500, (q, status)
    assert c.get(f"/?page={BIG_ID}").status_code in (400, 404)
    assert c.get("/?page=abc").status_code == 400
    assert c.get("/?date=2026-%25").status_code in (200, 400)


def test_sets_list_is_paginated_with_filters_kept(seed, tmp_path):
    root = tmp_path / "runs"
    for k in range(130):
        d = result_doc(seed, f"s{k:03d}")
        d["created_utc"] = f"2026-03-{1 + k % 28:02d}T10:00:00+00:00"
        put(root / ("ann" if k < 120 else "ben") / f"s{k:03d}.json", d)
    st = Store(tmp_path / "s.sqlite")
    assert len(st.import_dir(root)) == 130
    c = TestClient(create_app(st))

    def rows(r):
        return re.findall(r'href="/sets/(\d+)#flagged"', r.text)

    first = c.get("/")
    assert len(rows(first)) == 50 and "130 sets" in first.text
    assert re.search(r'href="/\?page=2"', first.text) and re.search(r'href="/\?page=3"', first.text)
    third = c.get("/?page=3")
    assert len(rows(third)) == 30
    seen = rows(first) + rows(c.get("/?page=2")) + rows(third)
    assert len(set(seen)) == 130
    ann = c.get("/?athlete=ann")
    assert "120 sets" in ann.text and len(rows(ann)) == 50
    assert re.search(r'href="/\?athlete=ann&amp;page=3"', ann.text)
    ann3 = c.get("/?athlete=ann&page=3")
    assert len(rows(ann3)) == 20 and 'value="ann" selected' in ann3.text


# -- media only from inside the served folder --------------------------------------------------
def test_media_only_from_inside_the_served_folder(seed, tmp_path):
    root = tmp_path / "runs"
    outside = tmp_path / "private"
    secret = tiny_video(outside / "secret.mp4")
    # a result whose video.path points outside (absolute, and relative with ../)
    put(root / "alice" / "abs.json", result_doc(seed, "abs", path=str(secret)))
    put(root / "alice" / "rel.json", result_doc(seed, "rel", path="../../private/secret.mp4"))
    # an annotated video that is a symlink to a file outside
    put(root / "bob" / "link.json", result_doc(seed, "link"))
    (root / "bob" / "link.annotated.mp4").symlink_to(secret)
    # a result file that is a symlink to a result outside, with its own video beside it
    put(outside / "far.json", result_doc(seed, "far"))
    tiny_video(outside / "far.annotated.mp4")
    (root / "carol").mkdir()
    (root / "carol" / "far.json").symlink_to(outside / "far.json")
    # and one good set with its video inside, which is served
    put(root / "dan" / "ok.json", result_doc(seed, "ok"))
    tiny_video(root / "dan" / "ok.annotated.mp4")
    st = Store(tmp_path / "s.sqlite")
    st.import_dir(root)
    c = TestClient(create_app(st, import_dir=root), raise_server_exceptions=False)
    by_stem = {s["stem"]: s["id"] for s in st.list_sets()}
    assert c.get(f"/sets/{by_stem['ok']}/video").status_code == 200
    for stem in ("abs", "rel", "link", "far"):
        sid = by_stem.get(stem)
        if sid is None:  # not imported at all: fine
            continue
        for url in (
            f"/sets/{sid}/video",
            f"/sets/{sid}/thumb/1.jpg",
            f"/media/{sid}/{stem}.annotated.mp4",
        ):
            assert c.get(url).status_code == 404, url
        # the result file itself is served only when it is inside the folder
        assert c.get(f"/media/{sid}/{stem}.json").status_code == (404 if stem == "far" else 200)
        report = c.get(f"/sets/{sid}/report.html")
        assert report.status_code == 200 and "data:image/jpeg" not in report.text
    assert not list(outside.glob("*.webm")) and not list(tmp_path.rglob("*.review.webm"))[1:]


# -- token guesses -----------------------------------------------------------------------------
def test_repeated_bad_tokens_are_throttled(one_set):
    st, _ = one_set
    app = create_app(st, token="right-token-123")
    c = TestClient(app)
    good = {"authorization": "Bearer right-token-123"}
    assert c.get("/", headers=good).status_code == 200
    codes = [
        c.get("/", headers={"authorization": f"Bearer guess{k}"}).status_code for k in range(30)
    ]
    assert codes[0] == 401 and codes[-1] == 429
    r = c.get("/", headers=good)  # while throttled, even the right token waits
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert c.get("/?token=guess").status_code == 429
    other = TestClient(app, client=("192.0.2.7", 4000))  # another client is not affected
    assert other.get("/", headers=good).status_code == 200


# -- many sets (slow) --------------------------------------------------------------------------
@pytest.mark.slow
def test_start_with_2000_results_serves_at_once(seed, tmp_path, capsys, no_uvicorn):
    """With 2,000 new result files the command starts serving within seconds (the import goes
    on in the background and the list says so), and the list page stays small and quick."""
    root = tmp_path / "runs"
    n = 2000
    for k in range(n):
        d = result_doc(seed, f"s{k:04d}")
        d["created_utc"] = f"2026-{1 + k % 12:02d}-{1 + k % 28:02d}T10:00:00+00:00"
        put(root / f"a{k % 20:02d}" / f"s{k:04d}.json", d)
    t0 = time.monotonic()
    code, _, err = run_cli(["review", str(root), "--no-prepare"], capsys)
    started = time.monotonic() - t0
    assert code == 0, err
    assert started < 15, started
    c = TestClient(no_uvicorn["app"], base_url="http://127.0.0.1:8000")
    first = c.get("/")
    assert first.status_code == 200
    st = open_store(root)
    deadline = time.monotonic() + 300
    while len(st.list_sets()) < n and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(st.list_sets()) == n
    lat = []
    for _ in range(10):
        t = time.perf_counter()
        r = c.get("/")
        lat.append(time.perf_counter() - t)
    assert r.status_code == 200 and f"{n} sets" in r.text
    assert len(re.findall(r'href="/sets/(\d+)#flagged"', r.text)) == 50
    assert sorted(lat)[5] < 1.0, lat
