"""How far to trust the camera view: a confidence for sagittal angles and the user's warning."""

from __future__ import annotations

import math

import numpy as np

from formcheck.core.geometry import Geometry


def confidence(geom: Geometry) -> float:
    """How far to trust sagittal angles, from the estimated yaw: 1 side-on, 0 at 60 deg."""
    if not math.isfinite(geom.yaw_deg):
        return 0.0
    return float(np.clip(1.0 - geom.yaw_deg / 60.0, 0.0, 1.0))


def view_warning(geom: Geometry) -> str | None:
    """The result's warning about the camera view, if any."""
    if geom.view == "no_person":
        return "no person detected in the video"
    # the view reading grows with the camera's yaw and, more, with its height (docs/method.md):
    # a side camera looking down from 1.2-1.6 m reads 30-40 deg
    if geom.view == "frontal":
        return (
            f"camera looks frontal or from above (about {geom.yaw_deg:.0f} deg from a level "
            "side view): sagittal angles are unreliable; film from the side with the camera "
            "at about hip height"
        )
    if geom.view == "oblique":
        return (
            f"camera is oblique or high (about {geom.yaw_deg:.0f} deg from a level side "
            "view): angles are less reliable; film from the side with the camera at about "
            "hip height"
        )
    return None
