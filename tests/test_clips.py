"""Per-rep clips (issue 21, item 2): each flagged rep as an H.264 clip and an animated WebP, the
best rep beside the worst, linked from the report and served by the review app."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.analysis import analyze_track
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.sinks.clips import (
    PAD_S,
    ClipSpan,
    _Source,
    best_and_worst,
    clip_names,
    clip_spans,
    rep_clip_files,
    scaled_size,
)

#: clean, sag, clean, short hold + fast lowering
REPS = [SynthRep(), SynthRep(peak_deg=160), SynthRep(), SynthRep(hold_s=0.5, lower_s=0.8)]


@pytest.fixture(scope="module")
def analysis():
    track, _ = make_track(SynthSpec(reps=list(REPS), width=480, height=270))
    return track, analyze_track(track, "hip_thrust", video_meta={"name": "set1.mp4"})


# -- fast: which reps, which frames ----------------------------------------------------------
def test_spans_only_for_flagged_reps_padded_and_clamped(analysis):
    _, a = analysis
    reps = a.session.reps
    assert [bool(r.findings) for r in reps] == [False, True, False, True]
    fps, n = 30.0, len(a.frames["time_s"])
    spans = clip_spans(reps, fps, n)
    assert [s.rep for s in spans] == [2, 4]
    pad = round(PAD_S * fps)
    for s in spans:
        r = reps[s.rep - 1]
        assert s.first == max(0, r.start_frame - pad)
        assert s.last == min(n - 1, r.end_frame + pad)
        assert s.frames == s.last - s.first + 1
    # a rep at the very start and end of the video: clamped to its frames
    r2 = replace(reps[1], start_frame=3, end_frame=n - 2)
    (s,) = clip_spans([r2], fps, n)
    assert (s.first, s.last) == (0, n - 1)
    # reps closer than the padding: a clip never shows the rep before or after it
    near = [
        replace(reps[0], start_frame=0, end_frame=50),
        replace(reps[1], start_frame=55, end_frame=100),
        replace(reps[2], start_frame=104, end_frame=150),
    ]
    (s,) = clip_spans(near, fps, n)
    assert (s.rep, s.first, s.last) == (2, 51, 103)
    assert clip_spans([r2], fps, 0) == []
    assert clip_spans([reps[0], reps[2]], fps, n) == []  # no flagged rep, no clip


def test_best_and_worst(analysis):
    _, a = analysis
    reps = a.session.reps
    best, worst = best_and_worst(reps)
    assert not best.faults and worst.faults
    # the worst: the heaviest faults (sag 0.5 < short hold + fast lowering 0.5, more faults)
    assert worst.index == 4 and set(worst.faults) == {"short_hold", "fast_lowering"}
    # the best: of the clean reps, the peak angle closest to 180
    clean = [r for r in reps if not r.faults]
    assert abs(best.peak_angle_deg - 180) == min(abs(r.peak_angle_deg - 180) for r in clean)
    sag_only = [reps[1], replace(reps[3], faults=["heel_lift"])]  # 0.5 beats 0.3
    assert best_and_worst([reps[0], *sag_only])[1].index == 2
    assert best_and_worst([reps[0], reps[2]]) is None  # no faulty rep
    assert best_and_worst([reps[1], reps[3]]) is None  # no clean rep


def test_names_and_file_kinds():
    assert clip_names("a.b", 3) == ("a.b.rep03.mp4", "a.b.rep03.webp")
    assert clip_names("s", 123)[0] == "s.rep123.mp4"
    files = {
        "json": "s.json",
        "rep_clip_3": "s.rep03.mp4",
        "rep_anim_3": "s.rep03.webp",
        "rep_clip_12": "s.rep12.mp4",
        "rep_clip_x": "bad",
        "best_worst": "s.best-worst.jpg",
    }
    assert rep_clip_files(files) == {
        3: {"clip": "s.rep03.mp4", "anim": "s.rep03.webp"},
        12: {"clip": "s.rep12.mp4"},
    }
    assert rep_clip_files(None) == {}
    assert scaled_size(1920, 1080, 720) == (720, 404)
    assert scaled_size(1080, 1920, 720) == (404, 720)
    assert scaled_size(480, 270, 720) == (480, 270)  # never scaled up


def test_overlapping_clips_share_each_decoded_frame():
    """Two clips whose padding overlaps get every one of their frames, while each frame is
    read from the decoder once; a still between them is kept."""
    pulled: list[int] = []

    def decoded():
        for i in range(100):
            pulled.append(i)
            yield i, np.full((4, 4, 3), i, np.uint8)

    src = _Source(decoded(), still_ids={45, 90})
    spans = [ClipSpan(1, 10, 40), ClipSpan(2, 30, 60)]
    got = []
    for k, sp in enumerate(spans):
        nxt = spans[k + 1].first if k + 1 < len(spans) else None
        got.append([i for i, p in src.clip(sp, nxt) if int(p[0, 0, 0]) == i])
    assert got == [list(range(10, 41)), list(range(30, 61))]
    src.find_stills()
    assert sorted(src.stills) == [45, 90] and int(src.stills[90][0, 0, 0]) == 90
    assert pulled == list(range(91))  # each once, none after the last still


# -- slow: files from a synthetic video ------------------------------------------------------
@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """``write_outputs`` with the video, as ``formcheck analyze`` runs it."""
    from formcheck.sinks.files import write_outputs
    from test_review import render_video

    out = tmp_path_factory.mktemp("clips")
    track, _ = make_track(SynthSpec(reps=list(REPS), width=480, height=270))
    src = render_video(track, out / "set1.mp4")
    track.meta["source"] = str(src)
    a = analyze_track(track, "hip_thrust", video_meta={"name": "set1.mp4"})
    files = write_outputs(a, out, video_path=src, write_video=True, stem="set1")
    return out, a, files


@pytest.mark.slow
def test_a_clip_and_animation_per_flagged_rep(written):
    from PIL import Image

    from formcheck.sinks.encode import is_h264

    out, a, files = written
    assert rep_clip_files(files).keys() == {2, 4}
    assert not list(out.glob("set1.rep01.*")) and not list(out.glob("set1.rep03.*"))
    for sp in clip_spans(a.session.reps, a.session.video.fps, len(a.frames["time_s"])):
        mp4, webp = clip_names("set1", sp.rep)
        assert files[f"rep_clip_{sp.rep}"] == mp4 and files[f"rep_anim_{sp.rep}"] == webp
        assert is_h264(out / mp4)
        cap = cv2.VideoCapture(str(out / mp4))
        n, w, h = (int(cap.get(p)) for p in (7, 3, 4))
        cap.release()
        assert abs(n - sp.frames) <= 2 and (w, h) == (480, 270)
        with Image.open(out / webp) as im:
            assert im.format == "WEBP" and im.n_frames > 1 and im.width == 320
            assert im.info.get("loop") == 0
            # as long as the clip (frames at 8/s; the encoder merges repeated ones)
            ms = 0
            for k in range(im.n_frames):
                im.seek(k)
                im.load()  # reads the frame's duration (ms) into info
                ms += im.info["duration"]
            assert abs(ms - 1000 * sp.frames / a.session.video.fps) <= 250
    # before rep 4 starts no banner (it would be rep 3's "good"); after it, its own verdict
    cap = cv2.VideoCapture(str(out / "set1.rep04.mp4"))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()

    def banner_px(frame, bgr):  # pixels of a banner colour in the bottom fifth
        low = frame[-frame.shape[0] // 5 :].astype(int)
        return int((np.abs(low - np.array(bgr)).max(axis=2) < 30).sum())

    from formcheck.sinks.draw import BANNER_BAD, BANNER_GOOD

    assert banner_px(frames[0], BANNER_GOOD) == 0 and banner_px(frames[0], BANNER_BAD) == 0
    assert banner_px(frames[-1], BANNER_BAD) > 500
    # the result lists them and stays valid against the schema
    jsonschema = pytest.importorskip("jsonschema")
    from formcheck.core.session import schema

    doc = json.loads((out / "set1.json").read_text())
    jsonschema.validate(doc, schema())
    assert doc["files"]["rep_clip_2"] == "set1.rep02.mp4"


@pytest.mark.slow
def test_best_worst_image_has_two_labelled_halves(written):
    out, _, files = written
    assert files["best_worst"] == "set1.best-worst.jpg"
    img = cv2.imread(str(out / "set1.best-worst.jpg"))
    from formcheck.sinks.clips import STILL_GAP

    h, w = img.shape[:2]
    assert h == 270 and w == 2 * 480 + STILL_GAP
    gap = img[:, 480 : 480 + STILL_GAP]
    assert gap.std() < 8  # a plain gap between the two pictures

    def label_colour(x0):  # the label box at the top left of a half (BGR mean)
        return img[6:16, x0 + 6 : x0 + 12].reshape(-1, 3).mean(axis=0)

    b, g, r = label_colour(0)
    assert g > r + 40 and g > b + 40  # "best": green box
    b, g, r = label_colour(480 + STILL_GAP)
    assert r > g + 60 and r > b + 60  # "worst": red box


@pytest.mark.slow
def test_no_video_no_clips(tmp_path, analysis):
    from formcheck.sinks.files import write_outputs

    _, a = analysis
    files = write_outputs(a, tmp_path, video_path=None, write_video=False, stem="nv")
    assert not rep_clip_files(files) and "best_worst" not in files
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob("*.webp"))


@pytest.mark.slow
def test_report_links_each_flagged_reps_clip(written, tmp_path):
    from formcheck.sinks.report import write_report

    out, a, _ = written
    html = write_report(a.session, out / "set1.report.html", base_dir=out).read_text()
    links = re.findall(r'<a class="share" href="([^"]+)" download>', html)
    assert links == ["set1.rep02.mp4", "set1.rep04.mp4"]
    assert all((out / name).is_file() for name in links)  # relative: beside the report
    assert html.count("data:image/webp;base64,") == 2  # the flagged cards animate
    assert html.count('id="best-worst"') == 1
    # without the clip files: no links, the still thumbnails again
    moved = write_report(a.session, tmp_path / "r.html", base_dir=tmp_path).read_text()
    assert 'class="share"' not in moved and "best-worst" not in moved.split("</style>")[1]


# -- slow: the review app ---------------------------------------------------------------------
@pytest.fixture()
def review(written, tmp_path):
    from starlette.testclient import TestClient

    from formcheck.review.app import create_app
    from formcheck.review.store import open_store

    out, _, _ = written
    st = open_store(f"sqlite:///{tmp_path / 'review.sqlite'}")
    st.import_dir(out)
    sid = next(s["id"] for s in st.list_sets() if s["stem"] == "set1")
    return TestClient(create_app(st)), sid, out, st


@pytest.mark.slow
def test_review_serves_clips_only_of_flagged_reps(review):
    c, sid, out, _ = review
    r = c.get(f"/sets/{sid}/rep/2.mp4")
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.content == (out / "set1.rep02.mp4").read_bytes()
    assert "content-disposition" not in r.headers
    r = c.get(f"/sets/{sid}/rep/2.mp4?download=1")
    assert r.headers["content-disposition"] == 'attachment; filename="set1.rep02.mp4"'
    r = c.get(f"/sets/{sid}/rep/4.webp")
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    r = c.get(f"/sets/{sid}/best-worst.jpg")
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    for url in ("/rep/1.mp4", "/rep/3.mp4", "/rep/1.webp", "/rep/99.mp4", "/rep/x.mp4"):
        assert c.get(f"/sets/{sid}{url}").status_code == 404, url
    assert c.get("/sets/999/rep/2.mp4").status_code == 404
    page = c.get(f"/sets/{sid}").text
    share = re.findall(r'<a class="share" href="([^"]+)" download="([^"]+)"', page)
    assert share == [
        (f"/sets/{sid}/rep/2.mp4?download=1", "set1.rep02.mp4"),
        (f"/sets/{sid}/rep/4.mp4?download=1", "set1.rep04.mp4"),
    ]
    assert f'src="/sets/{sid}/rep/2.webp"' in page and f"/sets/{sid}/best-worst.jpg" in page
    report = c.get(f"/sets/{sid}/report.html?view=1").text
    assert f'href="/sets/{sid}/rep/2.mp4?download=1" download' in report


@pytest.mark.slow
def test_review_serves_only_the_names_the_result_lists(review, tmp_path):
    """A result whose file list names another file for a clip gets a 404, not that file."""
    c, sid, out, st = review
    doc = json.loads((out / "set1.json").read_text())
    for bad in ("set1.json", "../set1.rep02.mp4", "set1.rep04.mp4"):
        doc["files"]["rep_clip_2"] = bad
        (out / "set1.json").write_text(json.dumps(doc))
        st.import_dir(out)
        assert st.session(sid).files["rep_clip_2"] == bad
        r = c.get(f"/sets/{sid}/rep/2.mp4")
        assert r.status_code == 404, bad
    doc["files"]["rep_clip_2"] = "set1.rep02.mp4"
    (out / "set1.json").write_text(json.dumps(doc))
    st.import_dir(out)
    assert c.get(f"/sets/{sid}/rep/2.mp4").status_code == 200


# -- slow: a real sample through the pose model ----------------------------------------------
@pytest.mark.slow
def test_sample_clips(tmp_path):
    from PIL import Image

    from formcheck.cli import main
    from formcheck.sinks.encode import is_h264

    src = Path(__file__).resolve().parents[1] / "samples" / "ht_faults_right.mp4"
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(src), "--out", str(tmp_path), "-q"])
    assert e.value.code == 0
    doc = json.loads((tmp_path / "ht_faults_right.json").read_text())
    flagged = {r["index"] for r in doc["reps"] if r["findings"]}
    assert flagged == {2, 3, 4, 5}  # the label's four faulty reps
    assert rep_clip_files(doc["files"]).keys() == flagged
    for i in flagged:
        mp4, webp = clip_names("ht_faults_right", i)
        assert is_h264(tmp_path / mp4) and (tmp_path / mp4).stat().st_size < 300_000
        cap = cv2.VideoCapture(str(tmp_path / mp4))
        w, h = int(cap.get(3)), int(cap.get(4))
        cap.release()
        assert max(w, h) <= 720
        with Image.open(tmp_path / webp) as im:
            assert im.n_frames > 1
    assert not list(tmp_path.glob("ht_faults_right.rep01.*"))  # rep 1 is clean
    assert (tmp_path / "ht_faults_right.best-worst.jpg").is_file()
