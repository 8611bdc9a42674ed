"""Legs that cannot be the body's, repaired frame by frame in a live set (what
:func:`formcheck.core.legs.repair_legs` does offline over the whole set).

The norms come from the set-up frames (lying at the bottom, feet planted): where each ankle
rests, each shin's image length, the near-side torso length and the usual offset of one leg
from the other. Each later frame's leg that breaks them (an ankle off its resting place, a shin
the wrong length: a leg drawn on a plate's rim) is drawn from the other leg, if that one keeps
them. Image pixels and world metres, as the landmarks are.
"""

from __future__ import annotations

import numpy as np

from formcheck.core.legs import LEG_JOINTS, implausible_leg, leg_norms
from formcheck.core.track import side_index

#: Fewest set-up frames with a person to read the norms from.
MIN_FRAMES = 10


class LiveLegs:
    """Norms read once (:meth:`from_frames`); :meth:`repair` applies them to one frame."""

    def __init__(self, side: str, norms: dict, scale: float, offsets: dict) -> None:
        self.side, self.norms, self.scale, self.offsets = side, norms, scale, offsets
        self.count = 0  # frames with a leg replaced

    @classmethod
    def from_frames(cls, side: str, raws: list) -> LiveLegs | None:
        """The norms of the frames ``raws`` (``(image (33, 3), world (33, 3), visibility,
        presence, …)``, all with a person), or None with too few or no side view."""
        if side not in ("left", "right") or len(raws) < MIN_FRAMES:
            return None
        image = np.stack([np.asarray(r[0], float) for r in raws])
        world = np.stack([np.asarray(r[1], float) for r in raws])
        xy = image[..., :2]
        torso = np.linalg.norm(
            xy[:, side_index(side, "shoulder")] - xy[:, side_index(side, "hip")], axis=1
        )
        if not np.isfinite(torso).any():
            return None
        scale = float(np.nanmedian(torso))
        norms = leg_norms(xy, scale)
        ok = ~np.logical_or.reduce([implausible_leg(xy, s, *norms[s], scale) for s in norms])
        offsets = {}
        for dst, src in (("left", "right"), ("right", "left")):
            for joint in LEG_JOINTS:
                d, s = side_index(dst, joint), side_index(src, joint)
                for name, a in (("image", image), ("world", world)):
                    off = np.nanmedian(a[ok, d] - a[ok, s], axis=0) if ok.sum() >= 3 else 0.0
                    offsets[dst, joint, name] = np.nan_to_num(off)
        return cls(side, norms, scale, offsets)

    def repair(self, raw: tuple) -> tuple:
        """``raw`` with an implausible leg drawn from the other (a new tuple), or as it was."""
        image = np.asarray(raw[0])
        xy = image[None, :, :2].astype(float)
        bad = {s: bool(implausible_leg(xy, s, *self.norms[s], self.scale)[0]) for s in self.norms}
        fix = [s for s in bad if bad[s] and not bad[_other(s)]]
        if not fix:
            return raw
        arrays = [np.array(x, copy=True) for x in raw[:2]]
        for dst in fix:
            src = _other(dst)
            for joint in LEG_JOINTS:
                d, s = side_index(dst, joint), side_index(src, joint)
                for k, name in ((0, "image"), (1, "world")):
                    arrays[k][d] = arrays[k][s] + self.offsets[dst, joint, name]
                # visibility and presence stay the leg's own (MediaPipe's scores barely move
                # for a leg drawn on a plate; the far leg's lower ones would read as "out of
                # frame" to the set-up guide)
        self.count += 1
        return (*arrays, *raw[2:])


def _other(side: str) -> str:
    return "right" if side == "left" else "left"
