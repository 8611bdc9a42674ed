"""The review app's exports honour the coach (issue 21): a finding the coach overruled is left
out of every exported summary (fault counts, fault lines, form score) and marked "overruled
by coach" (with the note) in the detail; an agreed finding is marked confirmed."""

from __future__ import annotations

import csv
import io
import re
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
pytest.importorskip("starlette")

from formcheck.review.app import create_app  # noqa: E402
from formcheck.review.store import open_store  # noqa: E402
from formcheck.sinks.report import RULE_TITLES, form_score  # noqa: E402
from test_review import client, make_result, post_review, set_id  # noqa: E402

NOTE = "hips were fine, the camera was low"


@pytest.fixture()
def reviewed(tmp_path):
    """A set with sag in rep 2 (overruled, with a note) and short hold / fast lowering in rep
    3 (agreed), reviewed through the app's own API."""
    make_result(tmp_path / "runs" / "alice", "set1", video=False)
    store = open_store(tmp_path / "runs")
    store.import_dir(tmp_path / "runs")
    sid = set_id(store, "set1")
    counts = store.get_set(sid)["fault_counts"]
    assert counts.get("sag") == 1, counts  # the test needs exactly one rep with sag
    c = client(create_app(store))
    findings = store.findings(sid)
    sag = next(f for f in findings if f["rule"] == "sag")
    assert post_review(c, sag["id"], "overrule", NOTE, reviewer="Ann").status_code == 200
    agreed = next(f for f in findings if f["rule"] != "sag" and f["severity"] == "fault")
    assert post_review(c, agreed["id"], "agree", reviewer="Ann").status_code == 200
    return c, store, sid, agreed["rule"]


def test_json_export_leaves_the_overruled_finding_out_of_the_summary(reviewed):
    c, store, sid, agreed = reviewed
    doc = c.get(f"/sets/{sid}/export.json").json()
    assert "sag" not in doc["set"]["fault_counts"]
    assert doc["set"]["automatic_fault_counts"]["sag"] == 1
    assert doc["set"]["fault_counts"][agreed] >= 1
    session = store.session(sid)
    assert doc["form_score"] == pytest.approx(
        form_score(session, {(2, "sag"): {"verdict": "overrule"}})
    )
    assert doc["form_score"] > doc["automatic_form_score"]
    sag = next(f for f in doc["findings"] if f["rule"] == "sag")
    assert sag["status"] == "overruled by coach" and sag["note"] == NOTE and not sag["counted"]
    ok = next(f for f in doc["findings"] if f["rule"] == agreed)
    assert ok["status"] == "confirmed by coach" and ok["counted"]


def test_csv_export_marks_the_overruled_finding(reviewed):
    c, _, sid, agreed = reviewed
    rows = list(csv.DictReader(io.StringIO(c.get(f"/sets/{sid}/export.csv").text)))
    sag = next(r for r in rows if r["rule"] == "sag")
    assert (sag["status"], sag["counted"], sag["note"]) == ("overruled by coach", "no", NOTE)
    ok = next(r for r in rows if r["rule"] == agreed)
    assert (ok["status"], ok["counted"]) == ("confirmed by coach", "yes")


def test_report_export_leaves_the_overruled_finding_out_of_the_summary(reviewed):
    c, store, sid, agreed = reviewed
    html = c.get(f"/sets/{sid}/report.html").text
    summary = html.split("<h2>Summary</h2>")[1].split("<h2>")[0]
    detail = html.split('id="rep-2"')[1]
    sag, ok = RULE_TITLES["sag"], RULE_TITLES[agreed]
    assert f"<b>{sag}</b>" not in summary and f"<b>{ok}</b>" in summary
    assert "1 finding overruled by the coach is not counted" in summary
    score = form_score(store.session(sid), {(2, "sag"): {"verdict": "overrule"}})
    assert re.search(rf"<b>{score:.0f}</b>form score after the coach's review", summary)
    assert f'<div class="finding overruled"><b>{sag}</b>' in detail
    assert "overruled by coach" in detail and NOTE in detail
    assert "confirmed by coach" in html.split('id="rep-3"')[1]
