"""Tests for the review store (formcheck.review.store): schema migrations, upserts, reviews."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from formcheck.analysis import analyze_track
from formcheck.core.session import Session
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.errors import InputError
from formcheck.review import store as store_mod
from formcheck.review.store import (
    DB_NAME,
    MIGRATIONS,
    Store,
    db_path_for,
    open_store,
    record_session,
)
from formcheck.sinks.files import write_outputs

REPS = [SynthRep(), SynthRep(peak_deg=160), SynthRep(hold_s=0.5, lower_s=0.8)]


def result(out: Path, name="set1", reps=REPS) -> Path:
    track, _ = make_track(SynthSpec(reps=list(reps)))
    a = analyze_track(track, "hip_thrust")
    write_outputs(a, out, write_video=False, stem=name)
    return out / f"{name}.json"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    result(root / "alice")
    result(root, "loose", reps=[SynthRep(), SynthRep()])
    return root


def test_paths_and_urls(tmp_path):
    assert db_path_for(tmp_path) == tmp_path / DB_NAME
    assert db_path_for(tmp_path / "newdir") == tmp_path / "newdir" / DB_NAME
    assert db_path_for(f"sqlite:///{tmp_path}/a.sqlite") == Path(f"{tmp_path}/a.sqlite")
    assert db_path_for("sqlite:///rel/a.db") == Path("rel/a.db")
    assert db_path_for(tmp_path / "x.db") == tmp_path / "x.db"
    with pytest.raises(InputError):
        db_path_for("postgres://host/db")
    st = open_store(tmp_path)
    assert st.path == (tmp_path / DB_NAME).resolve() and st.path.is_file()
    with sqlite3.connect(st.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_run_once_in_order(tmp_path, monkeypatch):
    p = tmp_path / "m.sqlite"
    st = Store(p)
    assert st.schema_version == len(MIGRATIONS)
    Store(p)  # reopening runs nothing again
    assert st.schema_version == len(MIGRATIONS)
    extra = "CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (7);"
    monkeypatch.setattr(store_mod, "MIGRATIONS", [*MIGRATIONS, extra])
    st2 = Store(p)
    assert st2.schema_version == len(MIGRATIONS) + 1
    with st2.connect() as con:
        assert [tuple(r) for r in con.execute("SELECT x FROM extra")] == [(7,)]
    monkeypatch.setattr(store_mod, "MIGRATIONS", MIGRATIONS)
    with pytest.raises(InputError, match="newer formcheck"):
        Store(p)


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    p = tmp_path / "m.sqlite"
    monkeypatch.setattr(store_mod, "MIGRATIONS", [*MIGRATIONS, "CREATE TABLE t (x); BROKEN;"])
    with pytest.raises(sqlite3.Error):
        Store(p)
    monkeypatch.setattr(store_mod, "MIGRATIONS", MIGRATIONS)
    with sqlite3.connect(p) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 0
        assert not con.execute("SELECT name FROM sqlite_master WHERE name='sets'").fetchall()
    assert Store(p).schema_version == len(MIGRATIONS)


def test_record_and_upsert_keeps_reviews(runs, tmp_path):
    st = Store(tmp_path / "s.sqlite")
    jp = runs / "alice" / "set1.json"
    session = Session.load(jp)
    sid = st.record_session(session, jp, root=runs)
    s = st.get_set(sid)
    assert s["athlete"] == "alice" and s["athlete_source"] == "folder"
    assert s["rep_count"] == 3 and s["exercise"] == "hip_thrust"
    assert s["set_date"] == session.created_utc[:10]
    assert [r["idx"] for r in st.reps(sid)] == [1, 2, 3]
    fs = st.findings(sid)
    assert {(f["rep_idx"], f["rule"]) for f in fs} >= {(2, "sag"), (0, "rep_count")}
    sag = next(f for f in fs if f["rule"] == "sag")
    st.add_review(sag["id"], "overrule", "fine", "ann")
    # the same result again: same set, same finding ids, review kept
    assert st.record_session(session, jp, root=runs) == sid
    assert len(st.list_sets()) == 1
    assert {f["id"] for f in st.findings(sid)} == {f["id"] for f in fs}
    assert st.reviews_for_report(sid)[(2, "sag")]["verdict"] == "overrule"
    # re-analysed without the sag: the reviewed finding is kept but marked gone
    session.reps[1].findings = [f for f in session.reps[1].findings if f.rule != "sag"]
    session.reps[1].faults.remove("sag")
    st.record_session(session, jp, root=runs)
    assert "sag" not in {f["rule"] for f in st.findings(sid)}
    gone = [f for f in st.findings(sid, include_gone=True) if f["rule"] == "sag"]
    assert gone and gone[0]["present"] == 0 and gone[0]["verdict"] == "overrule"
    assert not st.list_sets(fault="sag")


def test_athlete_sidecar_default_and_edit(runs, tmp_path):
    st = Store(tmp_path / "s.sqlite")
    loose = runs / "loose.json"
    sid = st.record_session(Session.load(loose), loose, root=runs)
    assert st.get_set(sid)["athlete"] == "unassigned"
    (runs / "loose.athlete.txt").write_text("  Dana  Smith \n")
    try:
        st.record_session(Session.load(loose), loose, root=runs)
        assert st.get_set(sid)["athlete"] == "Dana Smith"
        st.set_athlete(sid, "Dana S.")
        st.record_session(Session.load(loose), loose, root=runs)  # an edit wins
        assert st.get_set(sid)["athlete"] == "Dana S."
        with pytest.raises(ValueError):
            st.set_athlete(sid, "   ")
        with pytest.raises(KeyError):
            st.set_athlete(9999, "x")
    finally:
        (runs / "loose.athlete.txt").unlink()


def test_athlete_from_video_folder(tmp_path):
    jp = result(tmp_path / "flat")
    for folder, expected in (("carla", "carla"), ("samples", "unassigned")):
        video = tmp_path / "videos" / folder / "clip.mp4"
        video.parent.mkdir(parents=True)
        video.write_bytes(b"x")
        session = Session.load(jp)
        session.video.path = str(video)
        st = Store(tmp_path / f"{folder}.sqlite")
        sid = st.record_session(session, jp, root=tmp_path / "flat")
        assert st.get_set(sid)["athlete"] == expected


def test_date_from_video_mtime(tmp_path):
    out = tmp_path / "r"
    jp = result(out)
    video = out / "clip.mp4"
    video.write_bytes(b"not really a video")
    ts = time.mktime((2024, 3, 5, 12, 0, 0, 0, 0, -1))
    os.utime(video, (ts, ts))
    session = Session.load(jp)
    session.video.path = str(video)
    st = Store(tmp_path / "s.sqlite")
    sid = st.record_session(session, jp)
    assert st.get_set(sid)["set_date"] == "2024-03-05"
    assert st.get_set(sid)["video_path"] == str(video.resolve())


def test_import_dir_and_record_session(runs, tmp_path):
    (runs / "notes.json").write_text(json.dumps({"hello": 1}))
    (runs / "x.label.json").write_text(json.dumps({"schema": "formcheck.session"}))
    st = open_store(f"sqlite:///{tmp_path / 'i.sqlite'}")
    ids = st.import_dir(runs)
    assert len(ids) == 2
    assert st.import_dir(runs) == []  # unchanged: not read again
    jp = runs / "loose.json"
    later = time.time() + 5
    os.utime(jp, (later, later))
    assert len(st.import_dir(runs)) == 1
    # the explicit library call (no command calls it: `formcheck review DIR` imports)
    out = tmp_path / "out"
    jp2 = result(out, "s9")
    sid = record_session(out, Session.load(jp2), jp2)
    assert open_store(out).get_set(sid)["stem"] == "s9"
    assert (out / DB_NAME).is_file()


def test_reviews_append_only_latest_wins(runs, tmp_path):
    st = Store(tmp_path / "s.sqlite")
    jp = runs / "alice" / "set1.json"
    sid = st.record_session(Session.load(jp), jp)
    fid = st.findings(sid)[0]["id"]
    st.add_review(fid, "agree", "a", "ann")
    st.add_review(fid, "unsure", "b", "ben")
    f = st.findings(sid)[0]
    assert (f["verdict"], f["note"], f["reviewer"]) == ("unsure", "b", "ben")
    assert [h["verdict"] for h in st.review_history(sid)] == ["agree", "unsure"]
    with pytest.raises(ValueError):
        st.add_review(fid, "nope")
    with pytest.raises(KeyError):
        st.add_review(123456, "agree")
    # the schema itself refuses bad verdicts
    with pytest.raises(sqlite3.IntegrityError), st.transaction() as con:
        con.execute(
            "INSERT INTO reviews (finding_id, verdict, created_utc) VALUES (?,?,?)",
            (fid, "bogus", "t"),
        )


def test_two_handles_saving_at_once_lose_nothing(runs, tmp_path):
    p = tmp_path / "c.sqlite"
    jp = runs / "alice" / "set1.json"
    a, b = Store(p), Store(p)
    sid = a.record_session(Session.load(jp), jp)
    fids = [f["id"] for f in a.findings(sid)]
    start = threading.Barrier(4)

    def work(st, name):
        start.wait()
        for i in range(25):
            st.add_review(fids[i % len(fids)], "agree", f"{name}-{i}", name)

    ts = [
        threading.Thread(target=work, args=(st, n))
        for st, n in ((a, "a1"), (b, "b1"), (a, "a2"), (b, "b2"))
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(a.review_history(sid)) == 100


def _proc_reviews(path, fid, name, n):
    st = Store(path)
    for i in range(n):
        st.add_review(fid, "overrule", f"{name}-{i}", name)


def test_two_processes_saving_at_once_lose_nothing(runs, tmp_path):
    p = tmp_path / "p.sqlite"
    jp = runs / "alice" / "set1.json"
    st = Store(p)
    sid = st.record_session(Session.load(jp), jp)
    fid = st.findings(sid)[0]["id"]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_proc_reviews, args=(p, fid, n, 30)) for n in ("x", "y")]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(60)
        assert pr.exitcode == 0
    notes = {h["note"] for h in st.review_history(sid)}
    assert notes == {f"{n}-{i}" for n in ("x", "y") for i in range(30)}


def test_import_dir_rereads_only_new_or_changed_files(tmp_path, monkeypatch):
    """A rescan reads a result again only when its size or modification time changed, also
    when a replacement keeps an older modification time (e.g. ``cp -p``)."""
    root = tmp_path / "runs"
    jp = result(root / "alice")
    st = Store(tmp_path / "s.sqlite")
    (sid,) = st.import_dir(root)
    loads = []
    real_load = Session.load
    monkeypatch.setattr(
        Session, "load", classmethod(lambda cls, p: loads.append(p) or real_load(p))
    )
    assert st.import_dir(root) == [] and loads == []  # unchanged: not read at all
    before = jp.stat().st_mtime - 100
    result(root / "alice", reps=[SynthRep()])  # same path, new content
    os.utime(jp, (before, before))  # ... and an older modification time
    assert st.import_dir(root) == [sid] and st.get_set(sid)["rep_count"] == 1
    result(root / "bob", "set2")
    assert len(st.import_dir(root)) == 1 and len(st.list_sets()) == 2


def test_stores_from_before_file_stamps_reimport_once(tmp_path):
    """A store of schema 1 (no size/mtime per set) reads each result once more, then not."""
    root = tmp_path / "runs"
    result(root / "alice")
    p = tmp_path / "old.sqlite"
    st = Store(p)
    st.import_dir(root)
    with st.connect() as con:
        con.execute("UPDATE sets SET json_mtime_ns=NULL, json_size=NULL")
    assert len(st.import_dir(root)) == 1
    assert st.import_dir(root) == []
