"""Annotated videos: which rep, cue and fault each frame of an analysed video shows.

:func:`frame_states` turns an analysis into one :class:`~formcheck.sinks.draw.OverlayState` per
frame; the drawing itself is :func:`formcheck.sinks.draw.draw_overlay`, shared with the live
window. The banner belongs to the rep on screen: during a rep it names the fault showing now
by its cue; between reps it gives the verdict of the rep just done.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from formcheck.core.phases import PHASES
from formcheck.core.rules import cue_phrase
from formcheck.sinks.draw import (  # noqa: F401 - re-exported: the drawing's old home
    AMBER,
    GREEN,
    GREY,
    RED,
    WHITE,
    OverlayState,
    draw_overlay,
)
from formcheck.sinks.encode import (
    SOURCE_RATE_SHARE,
    check_encoded,  # noqa: F401 - its old home (live.capture)
    source_kbps,
    write_video,
)

if TYPE_CHECKING:
    from formcheck.analysis import Analysis


def load_path_at(centres: np.ndarray, starts: np.ndarray, i: int) -> np.ndarray | None:
    """The weight's centres (``(T, 2)`` px) from the start of the rep (or rest) that frame
    ``i`` is in (``starts``: sorted first frames of the reps) up to ``i``; None without any."""
    if not np.isfinite(centres).any():
        return None
    k = int(np.searchsorted(starts, i, side="right"))
    first = int(starts[k - 1]) if k > 0 else max(0, i - 60)
    seg = centres[first : i + 1]
    return seg if np.isfinite(seg).any() else None


def frame_states(analysis: Analysis) -> Callable[[int], OverlayState]:
    """A function giving the :class:`OverlayState` of frame ``i`` of an analysed video."""
    s = analysis.session
    fr = analysis.frames
    target = (int(s.profile.set.min_reps), int(s.profile.set.max_reps))
    hold_target = float(s.profile.rules.short_hold.min_hold_s)
    # frames where each fault is shown: the phase it concerns
    show: dict[int, list[str]] = {}
    verdicts: list[tuple[str, bool]] = []  # per rep (in order): banner after it, bad?
    for r in s.reps:
        faults = [f.rule for f in r.findings if f.severity == "fault"]
        for rid in faults:
            a, b = (
                (r.top_end_frame, r.end_frame)
                if rid == "fast_lowering"
                else (r.top_start_frame, r.top_end_frame)
            )
            for i in range(a, b + 1):
                show.setdefault(i, []).append(rid)
        words = cue_phrase(faults)
        verdicts.append(
            (f"rep {r.index}: {words}" if faults else f"rep {r.index}: good", bool(faults))
        )
    ends = np.array([r.end_frame for r in s.reps], int)
    starts_in_order = np.array([r.start_frame for r in s.reps], int)
    warning = s.camera.warning
    first_start = int(starts_in_order.min()) if len(starts_in_order) else None

    centres = np.stack(
        [
            fr.get("load_x_px", np.full(len(fr["time_s"]), np.nan)),
            fr.get("load_y_px", np.full(len(fr["time_s"]), np.nan)),
        ],
        axis=1,
    )
    starts = np.array(sorted(r.start_frame for r in s.reps), int)

    def state(i: int) -> OverlayState:
        k = int(np.searchsorted(ends, i, side="left"))  # reps ended before frame i
        on = k < len(s.reps) and starts_in_order[k] <= i  # rep k+1 is on screen
        now = show.get(i, [])
        if on:  # the rep on screen: the fault showing now, by its cue
            words = cue_phrase(now)
            msg = (words, True) if now else None
        else:  # between reps: the verdict of the rep just done
            msg = verdicts[k - 1] if k > 0 else None
        ph = PHASES[int(fr["phase"][i])] if i < len(fr["phase"]) else "none"
        hold = None
        if ph == "top" and on:
            r = s.reps[k]
            if r.top_start_frame <= i <= r.top_end_frame:
                hold = float(fr["time_s"][i] - fr["time_s"][r.top_start_frame])
        xy = analysis.xy[i] if i < len(analysis.xy) else None
        early = first_start is None or i < first_start
        return OverlayState(
            xy=xy,
            side=s.camera.side,
            angle_deg=float(fr["shk_angle_deg"][i]) if i < len(fr["time_s"]) else None,
            phase=ph,
            rep_count=k,
            target=target,
            faults=now,
            message=msg[0] if msg else None,
            message_bad=msg[1] if msg else False,
            hold_s=hold,
            hold_target_s=hold_target,
            notices=[warning] if warning and early else [],
            load_path=load_path_at(centres, starts, i),
            plate_radius_px=s.load_info.radius_px,
        )

    return state


def write_annotated_video(
    analysis: Analysis,
    video_path: str | os.PathLike,
    out_path: str | os.PathLike,
    progress: Callable[[int], None] | None = None,
    max_frames: int | None = None,
) -> Path:
    """Re-read ``video_path`` and write the annotated copy to ``out_path`` (.mp4), of its
    first ``max_frames`` frames when given (a live set's recording).

    H.264 that browsers play, through :func:`formcheck.sinks.encode.write_video` (which falls
    back to OpenCV's ``mp4v`` with a warning when no ffmpeg with libx264 can be run). The video
    is encoded under a temporary name and renamed when complete, so a failed encode never
    leaves a partial video under ``out_path``.
    """
    from formcheck.pose.video import iter_frames, probe_video, with_turn

    # the picture as analysed: turned as the track says (--rotate, or found on its side)
    info = with_turn(probe_video(video_path), int(analysis.track.meta.get("turn_deg", 0)))
    # the track's pixels, which the landmarks are in (a live recording may differ by a pixel)
    size = (analysis.track.width, analysis.track.height)
    state = frame_states(analysis)

    def frames():
        for i, _t, frame in iter_frames(video_path, info, stop=max_frames):
            if (frame.shape[1], frame.shape[0]) != size:
                frame = cv2.resize(frame, size)
            yield draw_overlay(frame, state(i))

    src = source_kbps(video_path, info.duration_s)
    cap = None if src is None else SOURCE_RATE_SHARE * src
    return write_video(out_path, frames(), info.fps, size, progress, max_kbps=cap)
