"""Rep thumbnails of a portrait video show the person (formcheck.sinks.thumbs): the band of the
tall frame around the body, not the whole frame shrunk."""

from __future__ import annotations

import cv2
import numpy as np

from formcheck.core.track import PoseTrack
from formcheck.sinks.report import grab_frame
from formcheck.sinks.thumbs import person_box, portrait_band


def test_band_is_landscape_full_width_and_holds_the_body():
    # a 360x640 portrait frame, the body lying across it around y = 400
    band = portrait_band(360, 640, (40.0, 360.0, 320.0, 440.0))
    assert band is not None
    x0, y0, x1, y1 = band
    assert (x0, x1) == (0, 360) and y1 - y0 == 270  # 360 / (4/3)
    assert y0 <= 360 and y1 >= 440  # the body inside
    # near an edge the band stays inside the frame; a tall body gets a taller band
    assert portrait_band(360, 640, (40.0, 600.0, 320.0, 630.0))[3] == 640
    tall = portrait_band(360, 640, (100.0, 100.0, 200.0, 500.0))
    assert tall[3] - tall[1] >= 400
    # landscape frames and frames with nobody stay whole
    assert portrait_band(640, 360, (40.0, 100.0, 320.0, 200.0)) is None
    assert portrait_band(360, 640, None) is None


def test_portrait_thumbnail_is_cut_to_the_person(tmp_path):
    w, h, n = 360, 640, 6
    frames = np.full((n, h, w, 3), 90, np.uint8)
    frames[:, 370:430, 40:320] = (20, 200, 20)  # the "body", green
    video = tmp_path / "v.mp4"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    image = np.full((n, 33, 3), np.nan, np.float32)
    image[:, :, 0] = np.linspace(45, 315, 33)
    image[:, :, 1] = np.linspace(375, 425, 33)
    image[:, :, 2] = 0
    track = PoseTrack(
        image=image,
        world=np.zeros((n, 33, 3), np.float32),
        visibility=np.ones((n, 33), np.float32),
        presence=np.ones((n, 33), np.float32),
        t_s=np.arange(n) / 10.0,
        width=w,
        height=h,
        fps=10.0,
    )
    npz = tmp_path / "v.track.npz"
    track.save(npz)
    assert person_box(npz, 3) == (45.0, 375.0, 315.0, 425.0)
    whole = grab_frame(video, 3, max_width=360)
    cut = grab_frame(video, 3, max_width=360, track=npz)
    assert whole.shape[:2] == (640, 360) and cut.shape[:2] == (270, 360)
    green = lambda img: (img[..., 1] > 150).mean()  # noqa: E731
    assert green(cut) > 2 * green(whole)  # the body fills far more of the thumbnail
    assert person_box(None, 3) is None and person_box(npz, 99) is None
