"""Legs that cannot be the body's: a knee and ankle drawn on a plate's rim, replaced.

In a hip thrust or a bridge the feet stay flat where they were put and the shin keeps its
length. MediaPipe, shown a barbell plate over the hips, sometimes draws the near leg on the
plate's rim at the top of each rep: the near ankle then "moves" by a whole thigh length and the
near shin shrinks to a fifth of itself, while the visibility scores barely move (measured on
rendered loaded sets: near ankle 1.0–1.5 shoulder–knee lengths off at the tops, the far leg
within 0.1). :func:`repair_legs` finds such frames per leg from those two invariants alone,
and draws the leg there from the other one (shifted by their usual offset, which a side view
keeps small), or leaves it, if both are implausible.

All positions are image pixels; thresholds are fractions of the set's median near-side torso
(shoulder–hip) image length, which a weight on the hips moves least.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from formcheck.core.track import PoseTrack, side_index

#: Leg landmarks moved together (MediaPipe names without the side prefix).
LEG_JOINTS = ("knee", "ankle", "heel", "foot_index")
#: An ankle this far (torso lengths) from where the feet rest has left the floor.
MAX_ANKLE_SHIFT = 0.5
#: A shin whose image length departs this share from its set median is not the shin.
MAX_SHIN_CHANGE = 0.2
#: Ankle positions within this many torso lengths of each other count as one resting place.
REST_RADIUS = 0.15
#: At most this many candidate frames when looking for the feet's resting place.
MAX_CANDIDATES = 400


@dataclass(frozen=True)
class LegRepair:
    """Which frames had a leg replaced: ``near`` and ``far`` ``(T,)`` bool."""

    near: np.ndarray
    far: np.ndarray

    @property
    def count(self) -> int:
        return int((self.near | self.far).sum())


def resting_place(points: np.ndarray, radius: float) -> np.ndarray:
    """The densest spot of ``points`` ``(n, 2)`` px: the median of the points within
    ``radius`` px of the candidate with most such neighbours. ``(2,)``, NaN if none."""
    ok = np.isfinite(points).all(axis=1)
    pts = points[ok]
    if len(pts) == 0:
        return np.full(2, np.nan)
    cand = pts[:: max(1, len(pts) // MAX_CANDIDATES)]
    near = np.linalg.norm(cand[:, None, :] - pts[None, :, :], axis=2) < radius
    best = int(np.argmax(near.sum(axis=1)))
    return np.median(pts[near[best]], axis=0)


def _leg(xy: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``side`` ankle ``(T, 2)`` px and shin (knee–ankle) image length ``(T,)`` px."""
    ankle = xy[:, side_index(side, "ankle")]
    return ankle, np.linalg.norm(xy[:, side_index(side, "knee")] - ankle, axis=1)


def leg_norms(xy: np.ndarray, torso: float) -> dict[str, tuple[np.ndarray, float]]:
    """Per side, where its ankle rests ``(2,)`` px and its shin's usual image length (px).

    Each leg's own (its ankle's densest spot, its median shin there), unless it disagrees with
    the leg whose shin is longer (a leg drawn on a plate is drawn short): resting more than
    :data:`MAX_ANKLE_SHIFT` torso lengths away from it or with a shin more than
    :data:`MAX_SHIN_CHANGE` shorter. Then that leg's norms stand for both."""
    norms = {}
    for side in ("left", "right"):
        ankle, shin = _leg(xy, side)
        rest = resting_place(ankle, REST_RADIUS * torso)
        with np.errstate(invalid="ignore"):
            resting = np.linalg.norm(ankle - rest, axis=1) < REST_RADIUS * torso
        typical = float(np.median(shin[resting])) if resting.any() else float("nan")
        norms[side] = (rest, typical)
    ref = max(norms, key=lambda s: norms[s][1] if np.isfinite(norms[s][1]) else -1.0)
    rest_ref, shin_ref = norms[ref]
    for side, (own_rest, own_shin) in list(norms.items()):
        apart = np.linalg.norm(own_rest - rest_ref) > MAX_ANKLE_SHIFT * torso
        if not np.isfinite(own_shin) or apart or own_shin < (1 - MAX_SHIN_CHANGE) * shin_ref:
            norms[side] = (rest_ref, shin_ref)
    return norms


def implausible_leg(xy: np.ndarray, side: str, rest: np.ndarray, shin_px: float, torso: float):
    """``(T,)`` bool: frames whose ``side`` ankle is more than :data:`MAX_ANKLE_SHIFT` torso
    lengths from ``rest`` or whose shin (knee–ankle) departs more than :data:`MAX_SHIN_CHANGE`
    from ``shin_px``. ``xy`` ``(T, 33, 2)`` px."""
    if not (np.isfinite(shin_px) and np.isfinite(rest).all()):
        return np.zeros(len(xy), bool)
    ankle, shin = _leg(xy, side)
    with np.errstate(invalid="ignore"):
        return (np.linalg.norm(ankle - rest, axis=1) > MAX_ANKLE_SHIFT * torso) | (
            np.abs(shin - shin_px) > MAX_SHIN_CHANGE * shin_px
        )


def repair_legs(track: PoseTrack, side: str) -> tuple[PoseTrack, LegRepair]:
    """``track`` with each implausible leg (:func:`implausible_leg`) drawn from the other leg
    where that one is plausible, shifted by the legs' median offset over frames where both
    are (image and world landmarks, visibility and presence alike). ``side``: the near side."""
    n = track.n_frames
    nothing = LegRepair(np.zeros(n, bool), np.zeros(n, bool))
    if side not in ("left", "right") or track.detected.sum() < 10:
        return track, nothing
    far = "right" if side == "left" else "left"
    xy = track.image[..., :2]
    torso = np.linalg.norm(
        xy[:, side_index(side, "shoulder")] - xy[:, side_index(side, "hip")], axis=1
    )
    if not np.isfinite(torso).any():
        return track, nothing
    scale = float(np.nanmedian(torso))
    norms = leg_norms(xy, scale)
    bad = {s: implausible_leg(xy, s, *norms[s], scale) & track.detected for s in (side, far)}
    fix = {side: bad[side] & ~bad[far], far: bad[far] & ~bad[side]}
    if not (fix[side].any() or fix[far].any()):
        return track, nothing
    both_ok = track.detected & ~bad[side] & ~bad[far]
    arrays = {k: getattr(track, k).copy() for k in ("image", "world", "visibility", "presence")}
    for dst, src in ((side, far), (far, side)):
        rows = fix[dst]
        if not rows.any():
            continue
        for joint in LEG_JOINTS:
            d, s = side_index(dst, joint), side_index(src, joint)
            for name in ("image", "world"):
                a = arrays[name]
                offset = (
                    np.nanmedian(a[both_ok, d] - a[both_ok, s], axis=0)
                    if both_ok.sum() >= 3
                    else np.zeros(a.shape[-1])
                )
                a[rows, d] = a[rows, s] + np.nan_to_num(offset)
            for name in ("visibility", "presence"):
                arrays[name][rows, d] = arrays[name][rows, s]
    return replace(track, **arrays), LegRepair(fix[side], fix[far])
