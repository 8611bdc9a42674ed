"""The landmarks a set is judged on: smoothed, the scene read from them, implausible legs and
frames repaired or dropped, and the set's corrected angles (:mod:`formcheck.core.corrected`).

Pure: arrays in, typed records out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.core.bias import BiasModel
from formcheck.core.corrected import SetAngles, set_angles
from formcheck.core.geometry import Geometry, estimate_geometry, implausible_frames
from formcheck.core.kinematics import Angles, joint_angles
from formcheck.core.legs import repair_legs
from formcheck.core.presence import SetUp, set_up
from formcheck.core.rules import Profile
from formcheck.core.signals import smooth_track_xy
from formcheck.core.track import PoseTrack
from formcheck.core.view import view_warning
from formcheck.notes import LEG_WARNING


@dataclass
class Landmarks:
    """The landmarks a set is judged on, after the leg repair and the frame checks.
    ``view_warning``: what :func:`~formcheck.core.view.view_warning` says of the view (also
    among ``warnings``)."""

    track: PoseTrack
    xy: np.ndarray
    geom: Geometry
    setup: SetUp
    ang: Angles
    measured: SetAngles
    warnings: list[str]
    view_warning: str | None


def prepare_landmarks(
    track: PoseTrack,
    profile: Profile,
    cutoff_hz: float,
    bias_model: BiasModel,
) -> Landmarks:
    """Smoothed landmarks, scene geometry, set-up, repaired legs (:func:`repair_legs`) and the
    set's angles with the weight on the hips (:func:`set_angles`)."""
    t = track.t_s
    warnings: list[str] = []
    xy = smooth_track_xy(track.image[..., :2], t, track.fps, cutoff_hz)
    geom = estimate_geometry(track, xy)
    setup = set_up(xy, geom, t, profile.reps.max_torso_to_floor_deg)
    track, legs = repair_legs(track, geom.side) if setup.found else (track, None)
    # a leg drawn on a plate's rim, say: the other leg stands in, so read the scene again
    if legs is not None and legs.count:
        xy = smooth_track_xy(track.image[..., :2], t, track.fps, cutoff_hz)
        geom = estimate_geometry(track, xy)
        warnings.append(LEG_WARNING.format(n=legs.count))
    bad = implausible_frames(track.image[..., :2], track.detected, geom.side, geom.up)
    if bad.any():  # failed detections (e.g. half the body out of the picture): no person there
        track = track.without_frames(bad)
        xy = smooth_track_xy(track.image[..., :2], t, track.fps, cutoff_hz)
        geom = estimate_geometry(track, xy)
        warnings.append(
            f"{int(bad.sum())} frame{'s' if bad.sum() > 1 else ''} with impossible "
            "landmarks (is the whole body in the picture?) treated as no person"
        )
    vw = view_warning(geom)
    if vw:
        warnings.append(vw)
    if geom.view != "no_person" and geom.detected_share < 0.5:
        warnings.append(f"person found in only {geom.detected_share:.0%} of frames")
    warnings.extend(geom.notes)
    world = smooth_track_xy(track.world, t, track.fps, cutoff_hz)
    ang = joint_angles(xy, track.visibility, geom, world)
    measured = set_angles(track, xy, geom, ang, setup.frames, bias_model)
    return Landmarks(track, xy, geom, setup, ang, measured, warnings, vw)
