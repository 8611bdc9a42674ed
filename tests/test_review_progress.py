"""An athlete's progress over time (issue 21): their sets by date with reps, form score and
faults per rep (the coach's overrules honoured), the trend plot on the athlete page, and the
self-contained progress report download (no sideways scroll on a 390 px phone)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
pytest.importorskip("starlette")

from formcheck.core.synthetic import SynthRep  # noqa: E402
from formcheck.review.app import create_app  # noqa: E402
from formcheck.review.progress import athlete_progress  # noqa: E402
from formcheck.review.store import open_store  # noqa: E402
from formcheck.sinks.plots import progress_figure  # noqa: E402
from formcheck.sinks.scoring import form_score  # noqa: E402
from test_review import client, make_result, post_review, set_id  # noqa: E402
from test_review_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

#: name -> (day, reps); written in this order, so the import order is not the date order
SETS = {
    "carol_b": ("2026-11-20", [SynthRep(), SynthRep(peak_deg=160), SynthRep()]),
    "carol_c": ("2026-12-03", [SynthRep(), SynthRep(), SynthRep()]),
    "carol_a": ("2026-10-15", [SynthRep(peak_deg=160), SynthRep(hold_s=0.5, lower_s=0.8)]),
}
IN_DATE_ORDER = ["carol_a", "carol_b", "carol_c"]


def dated_result(root: Path, name: str, day: str, reps) -> None:
    """A result analysed on ``day`` (no video: the set's date is the analysis day)."""
    jp = make_result(root, name, reps=reps, video=False)
    doc = json.loads(jp.read_text())
    doc["created_utc"] = f"{day}T10:00:00.000+00:00"
    jp.write_text(json.dumps(doc))


@pytest.fixture()
def store(tmp_path):
    root = tmp_path / "runs"
    for name, (day, reps) in SETS.items():
        dated_result(root / "carol", name, day, reps)
    make_result(root / "dave", "dave_1", reps=[SynthRep()], video=False)
    st = open_store(root)
    st.import_dir(root)
    return st


def test_progress_lists_the_sets_in_date_order_and_honours_overrules(store):
    sid = set_id(store, "carol_b")
    sag = next(f for f in store.findings(sid) if f["rule"] == "sag")
    c = client(create_app(store))
    assert post_review(c, sag["id"], "overrule", "fine").status_code == 200
    p = athlete_progress(store, "carol")
    assert [s.name for s in p.sets] == [f"{n}.mp4" for n in IN_DATE_ORDER]
    assert [s.date for s in p.sets] == sorted(day for day, _ in SETS.values())
    assert [s.reps for s in p.sets] == [2, 3, 3]
    b = p.sets[1]
    assert b.score == 100.0 and b.auto_score < 100.0 and b.n_overruled == 1
    assert "sag" not in dict(b.faults) and "sag" in store.get_set(b.set_id)["fault_counts"]
    assert b.faults_per_rep == 0.0
    a = p.sets[0]
    assert a.score == pytest.approx(form_score(store.session(a.set_id)))
    assert a.faults_per_rep == pytest.approx(
        sum(len(r.faults) for r in store.session(a.set_id).reps) / 2
    )
    assert a.faults_per_rep > 0 and ("sag", 1) in a.faults
    assert athlete_progress(store, "nobody") is None


def test_trend_plot_has_one_point_per_set_in_date_order(store):
    p = athlete_progress(store, "carol")
    fig = progress_figure(
        [s.date for s in p.sets], [s.score for s in p.sets], [s.faults_per_rep for s in p.sets]
    )
    score = next(ln for ln in fig.axes[0].lines if ln.get_gid() == "form-score")
    xs, ys = score.get_xdata(), score.get_ydata()
    assert len(xs) == 3 and list(xs) == sorted(xs) and len(set(xs)) == 3
    assert list(ys) == pytest.approx([s.score for s in p.sets])
    per_rep = next(ln for ln in fig.axes[1].lines if ln.get_gid() == "faults-per-rep")
    assert list(per_rep.get_ydata()) == pytest.approx([s.faults_per_rep for s in p.sets])
    # the days are spaced as they are: 36 days, then 13
    assert xs[1] - xs[0] == pytest.approx(36) and xs[2] - xs[1] == pytest.approx(13)


def test_athlete_page_plot_and_progress_export(store):
    c = client(create_app(store))
    r = c.get("/athlete", params={"name": "carol"})
    assert r.status_code == 200
    assert 'id="progress-plot" src="/athlete/progress.png?name=carol"' in r.text
    assert r.text.count('class="progress-row"') == 3 and "dave_1" not in r.text
    assert c.get("/athlete/progress.png?name=carol").content[:8] == b"\x89PNG\r\n\x1a\n"
    assert '<a href="/athlete?name=carol"' in c.get("/").text  # the sets list links there
    r = c.get("/athlete/progress.html", params={"name": "carol"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert "carol.progress.html" in r.headers["content-disposition"]
    html = r.text
    dates = re.findall(r'class="set-row" data-date="([0-9-]+)"', html)
    assert dates == sorted(day for day, _ in SETS.values())
    pos = [html.index(f"{n}.mp4") for n in IN_DATE_ORDER]
    assert pos == sorted(pos)
    assert 'id="trend"' in html and "data:image/png;base64," in html
    assert "<script" not in html and "http" not in html.split("</style>")[1]  # self-contained
    assert c.get("/athlete?name=nobody").status_code == 404
    assert c.get("/athlete/progress.html").status_code == 404


def test_athlete_names_with_odd_characters(store):
    sid = set_id(store, "dave_1")
    c = client(create_app(store))
    from test_review import csrf_of

    name = "Dave & <Co> / 2"
    r = c.post(
        f"/api/sets/{sid}/athlete", json={"athlete": name}, headers={"x-csrf-token": csrf_of(c)}
    )
    assert r.status_code == 200
    page = c.get("/").text
    href = re.search(r'<a href="(/athlete\?name=Dave[^"]*)"', page).group(1)
    r = c.get(href.replace("&amp;", "&"))
    assert r.status_code == 200 and "Dave &amp; &lt;Co&gt; / 2" in r.text


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_progress_report_has_no_sideways_scroll_on_a_phone(store, tmp_path):
    from playwright.sync_api import sync_playwright

    c = client(create_app(store))
    html = tmp_path / "carol.progress.html"
    html.write_text(c.get("/athlete/progress.html?name=carol").text)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            for vp in ({"width": 390, "height": 844}, {"width": 1280, "height": 800}):
                page = b.new_page(viewport=vp)
                page.goto(html.as_uri())
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= vp["width"], (vp, width)
                img = page.evaluate("document.getElementById('trend').naturalWidth")
                assert img > 0  # the embedded plot decodes
                page.close()
        finally:
            b.close()


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_athlete_page_fits_a_phone_and_a_desktop(store, tmp_path):
    """The athlete page served by the app: no sideways scroll at 390 and 1280 px, the trend
    plot loads, every link and button can be clicked. With ``FORMCHECK_DOCS_SHOTS=1`` the
    screenshots go to docs/img/athlete-<width>.png."""
    import os

    from playwright.sync_api import sync_playwright

    from test_review_browser import serving

    docs = Path(__file__).resolve().parents[1] / "docs" / "img"
    with serving(create_app(store)) as base, sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            for vp in ({"width": 390, "height": 844}, {"width": 1280, "height": 800}):
                page = b.new_page(viewport=vp)
                page.goto(f"{base}/athlete?name=carol")
                page.wait_for_function("document.getElementById('progress-plot').complete")
                assert page.evaluate("document.getElementById('progress-plot').naturalWidth") > 0
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= vp["width"], (vp, width)
                for el in page.query_selector_all("a, button"):
                    if el.is_visible():
                        box = el.bounding_box()
                        assert box and box["x"] >= 0 and box["x"] + box["width"] <= vp["width"]
                path = tmp_path / f"athlete-{vp['width']}.png"
                page.screenshot(path=str(path), full_page=True)
                if os.environ.get("FORMCHECK_DOCS_SHOTS"):
                    page.screenshot(path=str(docs / path.name), full_page=True)
                page.close()
        finally:
            b.close()
