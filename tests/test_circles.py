"""The plate's circle found in the picture (pose.circles) and followed over a set
(core.load.circle_path)."""

from __future__ import annotations

import cv2
import numpy as np

from formcheck.core.load import circle_path
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.core.track import PoseTrack
from formcheck.pose.circles import MAX_CIRCLES, find_circles


def _plate_picture(centre=(300, 200), radius=90, size=(480, 640)):
    """A dark plate (outer rim, inner rim, hub) before a grey wall on a wood-coloured floor,
    with a bench's straight edges beside it and some noise."""
    rng = np.random.default_rng(3)
    img = np.full((*size, 3), (120, 120, 125), np.uint8)
    img[300:] = (60, 110, 160)
    cv2.rectangle(img, (40, 230), (200, 260), (30, 30, 30), -1)
    cv2.circle(img, centre, radius, (40, 40, 45), -1, cv2.LINE_AA)
    cv2.circle(img, centre, int(radius * 0.8), (70, 70, 75), 3, cv2.LINE_AA)
    cv2.circle(img, centre, int(radius * 0.18), (170, 170, 170), -1, cv2.LINE_AA)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_find_circles_finds_a_plate_seen_side_on():
    rows = find_circles(_plate_picture())
    assert rows.shape == (MAX_CIRCLES, 3)
    found = rows[np.isfinite(rows[:, 0])]
    assert len(found) >= 1
    # the plate's centre is where its circles are (rim, inner rim or hub: one centre)
    dist = np.hypot(found[:, 0] - 300, found[:, 1] - 200)
    assert dist.min() < 3.0
    assert np.any(np.abs(found[dist < 3.0, 2] - 90) < 5)  # and its outer rim among them


def test_find_circles_in_a_big_frame_comes_back_in_its_pixels():
    from formcheck.pose.circles import CIRCLE_SIDE

    rows = find_circles(_plate_picture(centre=(900, 600), radius=270, size=(1080, 1920)))
    found = rows[np.isfinite(rows[:, 0])]
    pixel = 1920 / CIRCLE_SIDE  # one pixel of the copy searched
    assert np.hypot(found[:, 0] - 900, found[:, 1] - 600).min() < 1.5 * pixel


def test_find_circles_on_a_picture_without_one_finds_none_or_few():
    img = np.full((360, 640, 3), 128, np.uint8)
    assert np.isnan(find_circles(img)).all()


def _set_of_circles(n=300, seed=0):
    """Circles per frame over a set: the near plate (rim r=100 in every frame searched, its
    hub r=18 in a third of them, one centre, rising and falling), the far plate (r=80,
    smaller and higher, seen in most frames too), and a circle somewhere else in a few
    frames; every third frame searched."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 30.0
    centre = np.stack([np.full(n, 400.0), 300.0 - 60.0 * np.clip(np.sin(t), 0, 1)], axis=1)
    circles = np.full((n, 6, 3), np.nan, np.float32)
    for f in range(0, n, 3):
        rows = [[*(centre[f] + rng.normal(0, 0.7, 2)), 100 + rng.normal(0, 1.5)]]
        if f % 9 == 0:
            rows.append([*(centre[f] + rng.normal(0, 0.7, 2)), 18.0])
        if f % 30 != 15:
            rows.append([*(centre[f] + [-70.0, -40.0]), 80.0])
        if f % 30 == 0:
            rows.append([rng.uniform(0, 800), rng.uniform(0, 450), rng.uniform(20, 150)])
        circles[f, : len(rows)] = rows
    seeds = centre + np.array([25.0, -30.0])  # the raised outline's centre: tens of px off
    return circles, seeds, centre


def test_circle_path_follows_the_near_plate_not_the_far_one():
    circles, seeds, centre = _set_of_circles()
    found = circle_path(circles, seeds, length=400.0)
    assert found is not None
    path, radius = found
    assert abs(radius - 100) < 3
    searched = np.isfinite(circles[:, 0, 0])
    assert np.isfinite(path[searched]).all() and np.isnan(path[~searched]).all()
    err = np.linalg.norm(path[searched] - centre[searched], axis=1)
    assert np.median(err) < 1.5 and err.max() < 5.0


def test_circle_path_is_none_without_a_steady_circle():
    rng = np.random.default_rng(5)
    circles, seeds, _ = _set_of_circles()
    scattered = circles.copy()
    scattered[:, :, :2] += rng.uniform(-150, 150, (len(circles), 1, 2))  # no steady centre
    scattered[:, :, 2] = rng.uniform(20, 150, scattered.shape[:2])
    assert circle_path(scattered, seeds, length=400.0) is None
    assert circle_path(np.full_like(circles, np.nan), seeds, length=400.0) is None


def test_a_track_keeps_its_circles_through_a_save(tmp_path):
    from dataclasses import replace

    track, _ = make_track(SynthSpec(reps=[SynthRep()], width=320, height=240))
    circles, _, _ = _set_of_circles(track.n_frames)
    back = PoseTrack.from_npz(replace(track, circles=circles).save(tmp_path / "t.track.npz"))
    np.testing.assert_array_equal(back.circles, circles)
    assert PoseTrack.from_npz(track.save(tmp_path / "plain.track.npz")).circles is None


def test_search_circles_reads_every_third_frame_with_a_person(tmp_path):
    """The second pass made for a loaded set: the video decoded again, the frames the model
    would have searched (every third with a person) searched, the others left NaN."""
    from formcheck.pose.circles import search_circles
    from formcheck.pose.video import probe_video

    path = tmp_path / "plate.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
    for _ in range(10):
        w.write(_plate_picture())
    w.release()
    detected = np.ones(10, bool)
    detected[3] = False  # no person found there: not searched
    out = search_circles(path, probe_video(path), detected, every=3)
    searched = [k for k in range(10) if np.isfinite(out[k, 0, 0])]
    assert searched == [0, 6, 9]
    for k in searched:
        rows = out[k][np.isfinite(out[k, :, 0])]
        assert np.hypot(rows[:, 0] - 300, rows[:, 1] - 200).min() < 3.0
