"""Memory that does not grow with the video (issue 19 item 3, issue 22 item 3): masks kept
compressed (formcheck.core.masks.MaskStack) and read a bounded number of frames at a time,
landmarks allocated as frames arrive and never from the declared frame count. The figures
are in docs/reliability.md (benchmarks/memory.py)."""

from __future__ import annotations

import subprocess
import tracemalloc
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from formcheck.cli import main
from formcheck.core.geometry import estimate_geometry
from formcheck.core.load import detect_load, load_centres
from formcheck.core.masks import CHUNK, MaskStack, gather, has_mask
from formcheck.core.silhouette import front_crease, midline_bias, silhouette_arch, trunk_thickness
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.core.track import PoseTrack, side_index
from formcheck.pose import estimator as estimator_mod
from formcheck.pose.estimator import FramePose, PoseOptions, track_from_frames
from formcheck.pose.models import resolve_model
from formcheck.pose.video import VideoInfo


def _random_masks(t=21, h=5, w=7, seed=0):
    """Masks whose frames do not end on a byte (35 bits), some of them empty."""
    masks = np.random.default_rng(seed).random((t, h, w)) > 0.6
    masks[[0, 4, 5]] = False
    return masks


def test_mask_stack_holds_the_same_bits():
    masks = _random_masks()
    stack = MaskStack.from_array(masks)
    assert stack.shape == masks.shape and len(stack) == 21
    assert np.array_equal(stack.to_array(), masks)
    assert np.array_equal(stack[3], masks[3]) and np.array_equal(stack[-1], masks[-1])
    assert np.array_equal(stack[2:9:3], masks[2:9:3])
    assert np.array_equal(stack.take([6, 1]).to_array(), masks[[6, 1]])
    assert np.array_equal(has_mask(stack), masks.any(axis=(1, 2)))
    # the track file's flat packing, written and read in pieces of any size
    flat = np.packbits(masks.ravel())
    assert np.array_equal(np.concatenate(list(stack.packed_chunks(group=8))), flat)
    pieces = [flat[i : i + 3] for i in range(0, len(flat), 3)]
    assert np.array_equal(MaskStack.from_packed_stream(pieces, masks.shape).to_array(), masks)
    # gathering pixels over more frames than are unpacked at once
    big = _random_masks(t=3 * CHUNK + 5, seed=1)
    bstack = MaskStack.from_array(big)
    rng = np.random.default_rng(2)
    f = rng.integers(0, len(big), (400, 1))
    y, x = rng.integers(0, 5, (400, 6)), rng.integers(0, 7, (400, 6))
    assert np.array_equal(gather(bstack, f, y, x), big[f, y, x])


def test_track_file_is_unchanged_and_old_files_load(tmp_path):
    masks = _random_masks(t=1100)  # more than one packed piece
    t = len(masks)
    track = PoseTrack.empty(t, 30.0, 14, 10, masks=masks, mask_scale=0.5)
    assert isinstance(track.masks, MaskStack)
    path = track.save(tmp_path / "new.track.npz")
    with np.load(path) as z:
        assert np.array_equal(z["masks_packed"], np.packbits(masks.ravel()))
        assert tuple(z["masks_shape"]) == masks.shape
    back = PoseTrack.from_npz(path)
    assert np.array_equal(back.masks.to_array(), masks) and back.mask_scale == 0.5
    # a file as the previous version wrote it (np.savez_compressed)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez_compressed(tmp_path / "old.track.npz", **arrays)
    old = PoseTrack.from_npz(tmp_path / "old.track.npz")
    assert np.array_equal(old.masks.to_array(), masks)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None


def _segment_mask(h, w, a, b, r):
    yy, xx = np.mgrid[0:h, 0:w]
    p = np.stack([xx, yy], -1).astype(float)
    ab = b - a
    s = np.clip(((p - a) @ ab) / max(ab @ ab, 1e-9), 0, 1)
    return np.linalg.norm(p - (a + s[..., None] * ab), axis=-1) <= r


@pytest.fixture(scope="module")
def masked():
    """A synthetic set of more than 2 * CHUNK frames with body masks (a plate on the hips in
    every other rep's frames), as a bool array."""
    spec = SynthSpec(reps=[SynthRep(), SynthRep(), SynthRep()], width=320, height=240)
    track, _ = make_track(spec)
    assert track.n_frames > 2 * CHUNK
    h, w = 120, 160
    masks = np.zeros((track.n_frames, h, w), bool)
    for i in range(track.n_frames):
        sh, hp, kn = (
            track.image[i, side_index("left", j), :2] * 0.5 for j in ("shoulder", "hip", "knee")
        )
        masks[i] = _segment_mask(h, w, sh, hp, 11) | _segment_mask(h, w, hp, kn, 9)
        if (i // 40) % 2:
            yy, xx = np.mgrid[0:h, 0:w]
            masks[i] |= np.hypot(xx - hp[0], yy - hp[1] + 12) <= 30
    return track, masks


def test_silhouette_measures_are_the_same_on_a_mask_stack(masked):
    track, masks = masked
    stack = MaskStack.from_array(masks)
    xy = track.image[..., :2].astype(float)
    geom = estimate_geometry(track, xy)
    for fn in (silhouette_arch, front_crease):
        a, b = fn(xy, masks, 0.5, geom), fn(xy, stack, 0.5, geom)
        assert np.isfinite(a).sum() > CHUNK
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        trunk_thickness(xy, masks, 0.5, geom), trunk_thickness(xy, stack, 0.5, geom)
    )
    frames = np.arange(0, track.n_frames, 2)
    np.testing.assert_array_equal(
        midline_bias(xy, masks, 0.5, geom, frames), midline_bias(xy, stack, 0.5, geom, frames)
    )
    np.testing.assert_array_equal(
        load_centres(xy, masks, 0.5, geom), load_centres(xy, stack, 0.5, geom)
    )
    la = detect_load(xy, masks, 0.5, geom, frames, track.t_s, track.fps)
    lb = detect_load(xy, stack, 0.5, geom, frames, track.t_s, track.fps)
    assert (la.kind, la.confidence, la.rise) == (lb.kind, lb.confidence, lb.rise)
    np.testing.assert_array_equal(la.centre_px, lb.centre_px)


class MaskedEstimator:
    """Stands in for the pose model: a fixed person and a full mask on every frame."""

    def __init__(self, model=None, options=None) -> None:
        self.model_path = resolve_model("full")
        self.options = PoseOptions(masks=True)
        self.shape = (120, 160)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass

    def process(self, frame, timestamp_ms: int) -> FramePose:
        lm = np.full((33, 3), 50.0, np.float32)
        vis = np.ones(33, np.float32)
        return FramePose(lm, lm / 100, vis, vis, np.ones(self.shape, bool))


def test_memory_follows_the_frames_read_not_the_declared_count():
    info = VideoInfo("x.mkv", 160, 120, 15.0, 3_000_001, 0)  # declares 200,000 s
    frames = ((i, i / 15.0, np.zeros((120, 160, 3), np.uint8)) for i in range(3))
    tracemalloc.start()
    try:
        track = track_from_frames(MaskedEstimator(), frames, info)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert track.n_frames == 3 and track.masks.shape == (3, 120, 160)
    assert track.masks.to_array().all()
    assert peak < 5_000_000, peak  # the old code asked for 3 million frames' worth


def test_a_single_frame_at_200000_s_is_one_line(tmp_path, monkeypatch, capsys):
    """A 1.4 kB MKV whose one frame is stamped 200,000 s declares 3 million frames: before,
    3.98 GB of memory and then a traceback; now one line."""
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    video = tmp_path / "late.mkv"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=green:size=160x120:rate=15"]
        + ["-frames:v", "1", "-output_ts_offset", "200000", "-c:v", "libx264", str(video)],
        check=True,
    )
    monkeypatch.setattr(estimator_mod, "PoseEstimator", MaskedEstimator)
    tracemalloc.start()
    try:
        with pytest.raises(SystemExit) as exc:
            main(["analyze", str(video), "--out", str(tmp_path / "out"), "--no-video", "-q"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert exc.value.code == 2 and len(lines) == 1, err
    assert "only 1 of 3000001 frames" in lines[0] and "Traceback" not in err
    assert peak < 50_000_000, peak
    assert not list(Path(tmp_path / "out").glob("*.json"))


def test_a_track_from_a_video_keeps_masks_packed(masked):
    track, masks = masked
    t = replace(track, masks=masks, mask_scale=0.5)
    assert isinstance(t.masks, MaskStack)
    assert np.array_equal(t.without_frames(np.zeros(t.n_frames, bool)).masks.to_array(), masks)
