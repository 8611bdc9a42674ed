"""Set-up guidance for ``formcheck live``: is the lifter in view, side-on, lit and whole?

:class:`SetupGuide` turns one frame's landmarks into notices ("move back: knees out of frame",
"turn side-on to the camera", "too dark: add light"). A frame with a notice other than the
view ones is not used for analysis. Pixels (y down), visibility 0..1, luminance 0..255.
"""

from __future__ import annotations

import numpy as np

from formcheck.core.geometry import MIN_SEGMENT_SHARE, PLAUSIBLE_SHK_DEG, Geometry
from formcheck.core.kinematics import signed_shk_angle
from formcheck.core.track import side_index

#: Mean frame luminance (0-255) below which the set-up asks for more light.
DARK_LUMINANCE = 45.0
#: Landmark visibility below which a joint counts as not seen.
MIN_VISIBILITY = 0.5
#: Margin (fraction of the frame size) inside which a landmark counts as out of frame.
FRAME_MARGIN = 0.01

CHECKING = "hold still: checking the camera view"
FRONTAL = "turn side-on to the camera"
#: View notices that do not block a frame (the soft one only warns).
SOFT = ("camera oblique or high: side-on, at hip height",)
VIEW = (CHECKING, FRONTAL) + SOFT
IMPOSSIBLE = "move back: keep your whole body in the picture"
DARK = "too dark: add light"
NOBODY = "step into view, side-on to the camera"


class SetupGuide:
    """Per-frame set-up notices for a ``width`` × ``height`` picture (see the module doc)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.frontal_seen = False  # the last geometry attempt read a frontal view
        #: near torso and thigh lengths (px) at set-up, for the impossible-landmarks test
        self.segment_ref: tuple[float, float] | None = None

    def notices(
        self, raw: tuple | None, luminance: float | None, geom: Geometry | None
    ) -> list[str]:
        """Notices for one frame (``raw``: image, world, visibility, presence, mask or None)."""
        out: list[str] = []
        if luminance is not None and luminance < DARK_LUMINANCE:
            out.append(DARK)
        if raw is None:
            out.append(NOBODY)
            return out
        img, vis = raw[0], raw[2]
        missing = self._missing(img, vis, geom)
        if missing:
            out.append(f"move back: {'/'.join(missing)} out of frame")
        elif self.impossible(img, vis, geom):
            out.append(IMPOSSIBLE)
        if geom is None:
            out.append(FRONTAL if self.frontal_seen else CHECKING)
        elif geom.view == "oblique":
            out.append(SOFT[0])
        return out

    def _missing(self, img: np.ndarray, vis: np.ndarray, geom: Geometry | None) -> list[str]:
        sides = (
            [geom.side]
            if geom is not None and geom.side in ("left", "right")
            else ["left", "right"]
        )
        w, h, m = self.width, self.height, FRAME_MARGIN
        missing = []
        for joint, label in (
            ("shoulder", "shoulders"),
            ("knee", "knees"),
            ("hip", "hips"),
            ("ankle", "feet"),
        ):
            seen = False
            for sd in sides:
                k = side_index(sd, joint)
                x, y = float(img[k, 0]), float(img[k, 1])
                inside = m * w <= x <= (1 - m) * w and m * h <= y <= (1 - m) * h
                seen |= bool(inside and vis[k] >= MIN_VISIBILITY)
            if not seen:
                missing.append(label)
        return missing

    def impossible(self, img: np.ndarray, vis: np.ndarray, geom: Geometry | None) -> bool:
        """A failed detection (geometry.implausible_frames, one frame at a time): the
        shoulder–hip–knee angle outside what a body can do here, or, once the geometry is
        known, the torso or thigh shorter than half its length then."""
        if geom is not None and geom.side in ("left", "right"):
            side, up = geom.side, geom.up
        else:  # the more visible side, and the image's own "up" until the floor is known
            vl = sum(vis[side_index("left", j)] for j in ("shoulder", "hip", "knee"))
            vr = sum(vis[side_index("right", j)] for j in ("shoulder", "hip", "knee"))
            side, up = ("left" if vl >= vr else "right"), np.array([0.0, -1.0])
        s, h, k = (
            np.asarray(img[side_index(side, j), :2], float)[None]
            for j in ("shoulder", "hip", "knee")
        )
        a = float(signed_shk_angle(s, h, k, up)[0])
        if not PLAUSIBLE_SHK_DEG[0] <= a <= PLAUSIBLE_SHK_DEG[1]:
            return True
        ref = self.segment_ref
        if ref is None:
            return False
        torso, thigh = float(np.linalg.norm(s - h)), float(np.linalg.norm(h - k))
        return torso < MIN_SEGMENT_SHARE * ref[0] or thigh < MIN_SEGMENT_SHARE * ref[1]
