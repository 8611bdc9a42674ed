"""What a result says about its input, besides the reps: warnings and the video block's
extras (orientation, frame times, truncation, the weight on the hips). Pure: strings and
typed records from a track's meta and arrays."""

from __future__ import annotations

import numpy as np

from formcheck.core.load import LoadEstimate
from formcheck.core.session import LoadInfo, VideoMeta
from formcheck.core.signals import uneven_times
from formcheck.errors import InputError
from formcheck.pose.video import TURNS

LOAD_WARNING = (
    "a weight on the hips was detected: the hip is hidden behind it, so the angle findings are "
    "less sure (confidence halved) and the lower-back (silhouette) check is off"
)

BAR_LEVEL_WARNING = (
    "the barbell's plate hides the hip: reps and their timing follow the plate, and each rep's "
    "top is judged against the set's typical top, taken as the straight line (a set in which "
    "every rep stops short or goes too high is not caught)"
)

LOST_WARNING = (
    "the pose model lost the hip behind the weight: reps and their timing follow the weight's "
    "outline, but the angle at the top is not measured, so sag and hips-too-high are not judged"
)

VFR_NOTE = (
    "the frame rate varies (frames dropped or unevenly spaced): hold and lowering times are "
    "taken from the video's own timestamps"
)
LEG_WARNING = (
    "a leg landmark left the floor or changed length in {n} frames (drawn on a weight?): "
    "the other leg stands in there"
)


def read_meta(meta: dict) -> dict:
    """The video block's ``frame_count`` (declared), ``truncated``, turn and analysis step
    from a track's meta, for tracks read from a video file by this version
    (:func:`analyze_video`)."""
    out = {}
    if int(meta.get("analysis_step", 1)) > 1:
        out["analysis_step"] = int(meta["analysis_step"])
    if "turn_deg" in meta:
        out["turned_deg"] = int(meta["turn_deg"])
        out["turn_source"] = str(meta.get("turn_source", "given"))
    if "read_shortfall" not in meta:
        return out
    return {
        **out,
        "frame_count": meta.get("frames_declared"),
        "truncated": bool(meta["read_shortfall"]),
    }


def video_notes(video: VideoMeta, meta: dict, t_s: np.ndarray) -> list[str]:
    """Warnings about the picture's orientation and frame times; marks ``video`` when the
    frame rate varies."""
    notes = [w for w in (turn_warning(meta),) if w]
    if uneven_times(t_s):
        video.frame_rate_varies = True
        notes.append(VFR_NOTE)
    return notes


def check_turn(rotate: int | str) -> int | str:
    """``rotate`` as a turn in degrees (0, 90, 180, 270) or ``"auto"``; InputError otherwise."""
    if isinstance(rotate, str) and rotate.strip().lower() == "auto":
        return "auto"
    try:
        turn = int(str(rotate).strip()) % 360
    except ValueError:
        turn = -1
    if turn not in TURNS:
        raise InputError(f"--rotate must be auto, 0, 90, 180 or 270, not {rotate!r}")
    return turn


def turn_warning(meta: dict) -> str | None:
    """What the result says about the picture's orientation, if anything."""
    turn, source = int(meta.get("turn_deg", 0)), meta.get("turn_source")
    if source == "auto" and turn:
        return (
            f"the picture was on its side or upside down: analysed turned {turn} deg clockwise "
            "(pass --rotate 0 to analyse it as stored)"
        )
    if source == "unsure":
        return (
            "could not tell which way up the picture is (no shins standing up in it at any "
            "turn); if it is on its side, pass --rotate 90 or --rotate 270"
        )
    return None


def load_info(load: LoadEstimate, follows: str | None = None) -> LoadInfo:
    """The result's ``load`` block; ``follows``: what the angle's changes were read from
    (:class:`~formcheck.core.corrected.SetAngles`)."""
    centres = None
    if load.loaded:
        centres = [
            None if not np.isfinite(c).all() else [round(float(c[0]), 1), round(float(c[1]), 1)]
            for c in load.centre_px
        ]
    rise = load.rise if np.isfinite(load.rise) else None
    radius = round(float(load.radius_px), 1) if np.isfinite(load.radius_px) else None
    return LoadInfo(
        kind=load.kind,
        confidence=round(load.confidence, 3),
        rise=rise,
        radius_px=radius,
        centre_px=centres,
        angle_follows=follows,
    )
