"""Which way up the picture is: a phone held sideways, or a rotation tag lost in an edit.

In a hip thrust or a bridge the shins stand up from the floor: the knees are above the ankles.
:func:`guess_turn` runs the pose model on a few frames spread over the video, as stored and,
if the shins do not stand up there, turned by 90°, 180° and 270°, and keeps the turn under
which a person is found with the knees above the ankles. Cheap when the video is upright (one
pass over :data:`SAMPLES` frames); four passes otherwise.

Turns are clockwise degrees applied after the container's own rotation tag
(:class:`formcheck.pose.video.VideoInfo` ``turn_deg``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from formcheck.core.track import side_index
from formcheck.pose.video import VideoInfo, turn_frame

#: Frames looked at, spread evenly over the video.
SAMPLES = 8
#: A view is upright when the median shin (ankle → knee) points this far up (cosine of its
#: angle from the image's up; 1 = vertical) over the frames with a person, times the share of
#: frames with one.
UPRIGHT = 0.5
#: Under this, the video as stored is not upright at all.
SIDEWAYS = 0.2
#: Another turn is taken only when it scores this much better than the video as stored.
MARGIN = 0.3
TURNS = (0, 90, 180, 270)


@dataclass(frozen=True)
class TurnGuess:
    """``turn_deg``: the clockwise turn to analyse the video at (0 = as stored); ``sure``:
    one turn stood out (else the video is kept as stored); ``scores``: per turn looked at,
    how upright the shins stood (0..1, see :data:`UPRIGHT`)."""

    turn_deg: int
    sure: bool
    scores: dict[int, float] = field(default_factory=dict)

    @property
    def lying(self) -> bool:
        """The video as stored shows no shins standing up at all (score under
        :data:`SIDEWAYS`): on its side, or upside down."""
        return self.scores.get(0, 0.0) < SIDEWAYS


def sample_frames(info: VideoInfo, n: int = SAMPLES) -> list:
    """Up to ``n`` BGR frames spread evenly over the video ``info.path`` (its container
    rotation applied, not ``info.turn_deg``)."""
    from formcheck.pose.video import _open  # the one place that opens videos

    cap = _open(Path(info.path))
    frames = []
    try:
        count = max(1, info.frame_count)
        for k in np.linspace(0, count - 1, min(n, count)).astype(int):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(k))
            ok, frame = cap.read()
            if ok and frame is not None:
                frames.append(frame)
    finally:
        cap.release()
    return frames


def upright_score(xy: np.ndarray) -> float:
    """How upright the shins stand over frames ``(n, 33, 2)`` px (NaN rows: no person): the
    share of frames with a person times the median over them, and over both legs, of the
    cosine between ankle → knee and the image's up. 1 = shins vertical in every frame."""
    if len(xy) == 0:
        return 0.0
    cos = []
    for side in ("left", "right"):
        v = xy[:, side_index(side, "knee")] - xy[:, side_index(side, "ankle")]
        with np.errstate(invalid="ignore", divide="ignore"):
            cos.append(-v[:, 1] / np.linalg.norm(v, axis=1))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with nobody: NaN
        c = np.nanmean(np.stack(cos, axis=1), axis=1)
    seen = np.isfinite(c)
    if not seen.any():
        return 0.0
    return float(seen.mean() * max(0.0, float(np.median(c[seen]))))


def guess_turn(frames: list, estimator) -> TurnGuess:
    """The turn under which ``frames`` show a person with the shins standing up (module doc).
    ``estimator``: a :class:`formcheck.pose.estimator.PoseEstimator` (reset between turns)."""
    scores: dict[int, float] = {}
    for turn in TURNS:
        scores[turn] = _score(frames, estimator, turn)
        if turn == 0 and scores[0] >= UPRIGHT:
            return TurnGuess(0, True, scores)
    best = max(scores, key=lambda k: scores[k])
    if best != 0 and scores[best] >= UPRIGHT and scores[best] >= scores[0] + MARGIN:
        return TurnGuess(best, True, scores)
    return TurnGuess(0, False, scores)


def _score(frames: list, estimator, turn: int) -> float:
    estimator.reset()
    rows = []
    for k, frame in enumerate(frames):
        fp = estimator.process(turn_frame(frame, turn), k * 1000)
        rows.append(np.full((33, 2), np.nan) if fp is None else fp.image[:, :2])
    return upright_score(np.asarray(rows, float).reshape(len(rows), 33, 2))
