"""Pose extraction with MediaPipe's Tasks ``PoseLandmarker``.

Files use VIDEO mode with timestamps ``index / fps``; the live mode uses the same
:class:`PoseEstimator` frame by frame. When several people are found, one is tracked: the one
nearest the person followed so far, or at the start the largest and most central.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from formcheck.core.masks import MaskStack
from formcheck.core.track import N_LANDMARKS, PoseTrack
from formcheck.errors import InputError, ModelError
from formcheck.pose.models import model_info, resolve_model
from formcheck.pose.rate import fill_skipped, no_person_zeroed
from formcheck.pose.video import VideoInfo, iter_frames, probe_video

#: Longest side of the stored silhouette masks, in pixels.
MASK_MAX_SIDE = 320
#: Frames with a longer side than this (pixels) are shrunk by a whole factor before the model
#: (1080p to 960x540, 4K to 1280x720). The network sees a 256 px crop of the person whatever
#: the frame's size, so a 1080p frame only costs more to convert, resize and upsample the mask
#: for; shrunk once here, landmarks stay in the frame's own pixels. Up to 1280 px (720p and
#: below) frames go in whole, as before.
MODEL_MAX_SIDE = 1280
#: Under a weight, every how many frames with a person the picture is searched for circles (a
#: barbell plate's rim, :func:`formcheck.pose.circles.search_circles`): as often as the load
#: check reads the mask (:data:`formcheck.core.corrected.LOAD_EVERY`).
CIRCLES_EVERY = 3
#: Frames of landmarks allocated at a time as a video is read (never the declared count).
GROW_FRAMES = 1024


@dataclass(frozen=True)
class PoseOptions:
    """Detector settings. Confidences in [0, 1]; ``num_poses`` people are considered per frame."""

    num_poses: int = 1
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    masks: bool = True
    max_side: int | None = MODEL_MAX_SIDE  # longest side fed to the model, px; None: as is
    circles_every: int = CIRCLES_EVERY  # a loaded set: every n-th frame searched; 0: none


@dataclass
class FramePose:
    """One frame's chosen person: image ``(33,3)`` px, world ``(33,3)`` m, visibility and
    presence ``(33,)``."""

    image: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    mask: np.ndarray | None = None  # (h, w) bool at mask scale


def _choose(
    candidates: list[np.ndarray], width: int, height: int, previous: np.ndarray | None
) -> int:
    """Index of the person to follow among ``candidates`` (each ``(33, 2)`` pixels)."""
    if len(candidates) == 1:
        return 0
    centres = np.array([np.nanmean(c, axis=0) for c in candidates])
    if previous is not None and np.all(np.isfinite(previous)):
        return int(np.argmin(np.linalg.norm(centres - previous, axis=1)))
    extent = np.array([np.prod(np.nanmax(c, 0) - np.nanmin(c, 0)) for c in candidates])
    off_centre = np.linalg.norm((centres - [width / 2, height / 2]) / [width, height], axis=1)
    score = extent / (extent.max() + 1e-9) - off_centre
    return int(np.argmax(score))


class PoseEstimator:
    """A MediaPipe ``PoseLandmarker`` in VIDEO mode, fed BGR frames with timestamps in ms.

    Use as a context manager. ``process`` returns the chosen person's :class:`FramePose` or None.
    """

    def __init__(
        self, model: str | os.PathLike | None = "full", options: PoseOptions | None = None
    ) -> None:
        self.model_path = resolve_model(model)
        self.options = options or PoseOptions()
        self._landmarker = self._create()
        self._previous_centre: np.ndarray | None = None
        self._last_ts = -1

    def _create(self):
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions
        from mediapipe.tasks.python.vision.core.vision_task_running_mode import (
            VisionTaskRunningMode,
        )

        o = self.options
        opts = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=VisionTaskRunningMode.VIDEO,
            num_poses=o.num_poses,
            min_pose_detection_confidence=o.min_detection_confidence,
            min_pose_presence_confidence=o.min_presence_confidence,
            min_tracking_confidence=o.min_tracking_confidence,
            output_segmentation_masks=o.masks,
        )
        try:
            return PoseLandmarker.create_from_options(opts)
        except Exception as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load pose model {self.model_path}: {msg}") from None

    def reset(self) -> None:
        """Start a new video: a fresh landmarker (same model and options), so no tracking state
        or timestamp carries over from the previous video. Costs about 50 ms."""
        self.close()
        self._landmarker = self._create()
        self._previous_centre = None
        self._last_ts = -1

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def process(self, frame_bgr: np.ndarray, timestamp_ms: int) -> FramePose | None:
        """Run the model on one frame. ``timestamp_ms`` must increase from call to call."""
        import mediapipe as mp

        ts = int(timestamp_ms)
        if ts <= self._last_ts:
            ts = self._last_ts + 1
        self._last_ts = ts
        h, w = frame_bgr.shape[:2]
        rgb = cv2.cvtColor(shrink(frame_bgr, self.options.max_side), cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        result = self._landmarker.detect_for_video(image, ts)
        if not result.pose_landmarks:
            return None
        cands = [
            np.array([[lm.x * w, lm.y * h] for lm in pose], np.float32)
            for pose in result.pose_landmarks
        ]
        k = _choose(cands, w, h, self._previous_centre)
        pose = result.pose_landmarks[k]
        img = np.array([[lm.x * w, lm.y * h, lm.z * w] for lm in pose], np.float32)
        vis = np.array([lm.visibility or 0.0 for lm in pose], np.float32)
        pres = np.array([lm.presence or 0.0 for lm in pose], np.float32)
        world = (
            np.array([[lm.x, lm.y, lm.z] for lm in result.pose_world_landmarks[k]], np.float32)
            if result.pose_world_landmarks
            else np.full((N_LANDMARKS, 3), np.nan, np.float32)
        )
        self._previous_centre = np.nanmean(img[:, :2], axis=0)
        mask = None
        if result.segmentation_masks:
            m = result.segmentation_masks[k].numpy_view()
            scale = mask_scale_for(w, h)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            mask = (
                cv2.resize(np.asarray(m, np.float32).squeeze(), size, interpolation=cv2.INTER_AREA)
                > 0.5
            )
        return FramePose(img, world, vis, pres, mask)


def shrink(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    """``frame`` with its longer side at most ``max_side`` pixels, shrunk by the smallest whole
    factor that fits (area-averaged: a whole factor averages blocks, about 1 ms for 1080p,
    where 1080p to 720p took 18 ms); the frame itself when it already fits or ``max_side`` is
    None."""
    h, w = frame.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return frame
    k = math.ceil(max(h, w) / max_side)
    size = (max(1, round(w / k)), max(1, round(h / k)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def mask_scale_for(width: int, height: int) -> float:
    """Scale from image pixels to stored-mask pixels (masks keep at most MASK_MAX_SIDE px)."""
    return min(1.0, MASK_MAX_SIDE / max(width, height))


def extract_track(
    video: str | os.PathLike,
    model: str | os.PathLike | None = "full",
    options: PoseOptions | None = None,
    info: VideoInfo | None = None,
    progress: Callable[[int], None] | None = None,
    step: int = 1,
) -> PoseTrack:
    """Run the pose model over every ``step``-th frame of ``video`` (see
    :mod:`formcheck.pose.rate`) and return its :class:`PoseTrack`.

    ``progress(n)`` is called with the number of frames just processed.
    """
    info = info or probe_video(video)
    options = options or PoseOptions()
    with PoseEstimator(model, options) as est:
        return track_from_frames(est, iter_frames(video, info, step=step), info, progress, step)


def track_from_frames(
    est: PoseEstimator,
    frames,
    info: VideoInfo,
    progress: Callable[[int], None] | None = None,
    step: int = 1,
) -> PoseTrack:
    """Build a :class:`PoseTrack` from ``(index, t_s, frame)`` items (see :func:`iter_frames`).

    The model runs on frames ``0, step, 2 step …`` only (a frame given as None is skipped
    too); the frames between are interpolated (:func:`~formcheck.pose.rate.fill_skipped`) and
    have no mask. ``meta["analysis_step"]`` records ``step`` when it is more than 1.

    Memory follows the frames read, not the count the container declares: landmarks are
    allocated :data:`GROW_FRAMES` at a time and masks kept compressed (:class:`MaskStack`)."""
    step = max(1, int(step))
    scale = mask_scale_for(info.width, info.height)
    mshape = (max(1, round(info.height * scale)), max(1, round(info.width * scale)))
    masks = MaskStack(mshape) if est.options.masks else None
    blocks: list[tuple[np.ndarray, ...]] = []
    times: dict[int, float] = {}
    n = 0
    for i, t, frame in frames:
        times[i] = float(t)
        while i >= len(blocks) * GROW_FRAMES:
            blocks.append(_empty_block(GROW_FRAMES))
        run = i % step == 0 and frame is not None
        fp = est.process(frame, round(t * 1000.0)) if run else None
        if fp is not None:
            img, world, vis, pres = blocks[i // GROW_FRAMES]
            k = i % GROW_FRAMES
            img[k], world[k], vis[k], pres[k] = fp.image, fp.world, fp.visibility, fp.presence
        if masks is not None:
            while len(masks) < i:  # frames skipped by the iterator: no mask
                masks.append(None)
            ok = fp is not None and fp.mask is not None and fp.mask.shape == mshape
            masks.append(fp.mask if ok else None)  # type: ignore[union-attr]
        n = i + 1
        if progress:
            progress(1)
    if n == 0:
        raise InputError(f"{info.path} has no decodable video frames")
    img, world, vis, pres = (np.concatenate([b[j] for b in blocks])[:n] for j in range(4))
    blocks.clear()
    t_s = frame_times(times, n, info.fps)
    if step > 1:
        fill_skipped([img, world, vis, pres], t_s, step)
        no_person_zeroed(img, vis, pres)
    declared = info.frame_count
    meta = dict(
        source=str(info.path),
        model=str(est.model_path),
        model_sha256=model_info(est.model_path).get("sha256"),
        rotation_deg=info.rotation_deg,
        frames_declared=declared,
        frames_decoded=n,
        fps_assumed=info.fps_assumed,
    )
    if step > 1:  # absent: the model ran on every frame
        meta["analysis_step"] = step
    return PoseTrack(
        image=img,
        world=world,
        visibility=vis,
        presence=pres,
        t_s=t_s,
        width=info.width,
        height=info.height,
        fps=info.fps,
        masks=masks,
        mask_scale=scale,
        meta=meta,
    )


def frame_times(times: dict[int, float], n: int, fps: float) -> np.ndarray:
    """``(n,)`` strictly increasing frame times (s): ``times`` (frame index → s) where given,
    ``index / fps`` elsewhere (and where a given time would not advance)."""
    t = np.arange(n) / fps
    for i, v in times.items():
        if 0 <= i < n:
            t[i] = v
    for i in range(1, n):  # keep them increasing whatever the source said
        if not t[i] > t[i - 1]:
            t[i] = t[i - 1] + 1.0 / fps
    return t


def _empty_block(n: int) -> tuple[np.ndarray, ...]:
    """``n`` frames with no person: image and world landmarks NaN, visibility and presence 0."""
    nan3 = np.full((n, N_LANDMARKS, 3), np.nan, np.float32)
    zeros = np.zeros((n, N_LANDMARKS), np.float32)
    return nan3, nan3.copy(), zeros, zeros.copy()
