"""The annotated video plays in a real browser (Debian's chromium driven by Playwright), and the
review app serves it as it is: no WebM transcode.

``formcheck analyze samples/gb_tempo_left.mp4`` writes ``gb_tempo_left.annotated.mp4`` (H.264);
the review app's set page must show it decoded (``readyState >= 2``, ``videoWidth > 0``,
playing) from ``/sets/N/video`` as ``video/mp4``, and the raw result file from ``/media/...``
plays too. Control: OpenCV's old ``mp4v`` is refused by the same browser (error code 4), so the
test would catch a return to it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from formcheck.cli import main
from media import plain_video
from test_review_browser import CHROMIUM, CHROMIUM_ARGS, serving, wait_js

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "gb_tempo_left.mp4"
ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is not installed (apt-get install -y chromium)",
    ),
]

#: The page's <video>: decoded far enough to show a frame, with a picture, without an error.
SHOWS_A_FRAME = (
    "v => v.readyState >= 2 && v.videoWidth > 0 && v.videoHeight > 0 && v.error === null"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The review app over the result of ``formcheck analyze`` on the sample."""
    from formcheck.review.app import create_app
    from formcheck.review.security import LOOPBACK_NAMES
    from formcheck.review.store import open_store

    root = tmp_path_factory.mktemp("annotated-runs")
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(SAMPLE), "--out", str(root / "gb"), "-e", "glute_bridge", "-q"])
    assert e.value.code == 0
    store = open_store(root)
    store.import_dir(root)
    app = create_app(store, allowed_hosts=list(LOOPBACK_NAMES))
    with serving(app) as base:
        yield base, store, root


def test_annotated_video_plays_in_chromium_without_webm(server, tmp_path):
    from playwright.sync_api import sync_playwright

    from formcheck.sinks.encode import is_h264

    base, store, root = server
    ann = root / "gb" / "gb_tempo_left.annotated.mp4"
    assert is_h264(ann)
    cap = cv2.VideoCapture(str(ann))
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    seconds = cap.get(cv2.CAP_PROP_FRAME_COUNT) / cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    sid = store.list_sets()[0]["id"]
    mp4v = plain_video(tmp_path / "old-mp4v.mp4", frames=24, size=(160, 120))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            types: list[str] = []
            page.on(
                "response",
                lambda r: (
                    types.append(r.headers.get("content-type", ""))
                    if r.url.endswith(f"/sets/{sid}/video")
                    else None
                ),
            )
            # the review app's set page: the player shows the annotated video, and plays it
            page.goto(f"{base}/sets/{sid}")
            video = page.locator("#video")
            wait_js(page, f"() => ({SHOWS_A_FRAME})(document.getElementById('video'))", None, 60)
            assert video.evaluate("v => v.videoWidth") == width
            assert abs(video.evaluate("v => v.duration") - seconds) < 0.2
            assert types and all(t == "video/mp4" for t in types), types
            video.evaluate("v => { v.muted = true; return v.play(); }")
            wait_js(page, "() => document.getElementById('video').currentTime > 0.5", None, 30)

            # the result file itself, in a plain <video>
            probe = (
                "src => new Promise(done => { const v = document.createElement('video');"
                " v.muted = true; v.preload = 'auto';"
                " v.onloadeddata = () => done({ready: v.readyState, w: v.videoWidth, err: null});"
                " v.onerror = () => done({ready: v.readyState, w: 0, err: v.error.code});"
                " v.src = src; document.body.appendChild(v); })"
            )
            got = page.evaluate(probe, f"/media/{sid}/gb_tempo_left.annotated.mp4")
            assert got["err"] is None and got["ready"] >= 2 and got["w"] == width, got

            # control: the old OpenCV 'mp4v' is not played by this browser (MEDIA_ERR 4)
            page.route(
                "**/control/old-mp4v.mp4",
                lambda route: route.fulfill(path=str(mp4v), content_type="video/mp4"),
            )
            got = page.evaluate(probe, "/control/old-mp4v.mp4")
            assert got["err"] == 4 and got["w"] == 0, got
        finally:
            browser.close()
    # served as it is: no WebM copy, no temporary file, beside the results or in the cache
    assert not list(root.rglob("*.webm")) and not list(root.rglob("*.fctmp*"))
