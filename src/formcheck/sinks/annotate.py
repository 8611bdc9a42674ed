"""Drawing on frames: skeleton, shoulder–knee guide line, angle, rep counter, phase, faults.

``draw_overlay`` draws one frame from an :class:`OverlayState` and is shared by the annotated
video (``formcheck analyze``) and the live window (``formcheck live``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from formcheck.core.phases import PHASES
from formcheck.core.track import SKELETON_EDGES, side_index
from formcheck.sinks.encode import (
    check_encoded,  # noqa: F401 - its old home (live.capture)
    write_video,
)

if TYPE_CHECKING:
    from formcheck.analysis import Analysis

GREEN = (80, 200, 60)
RED = (40, 40, 230)
WHITE = (255, 255, 255)
GREY = (170, 170, 170)
AMBER = (0, 170, 255)


@dataclass
class OverlayState:
    """What to draw on one frame. ``xy``: ``(33, 2)`` pixels or None; angles in degrees."""

    xy: np.ndarray | None
    side: str
    angle_deg: float | None
    phase: str
    rep_count: int
    target: tuple[int, int] = (10, 12)
    faults: list[str] = field(default_factory=list)  # broken rules to show in red now
    message: str | None = None  # last verdict / cue
    message_bad: bool = False
    hold_s: float | None = None
    hold_target_s: float | None = None
    notices: list[str] = field(default_factory=list)  # set-up guidance / warnings (amber)
    stats: str | None = None  # e.g. "27 fps  48 ms"
    #: the weight's path so far in this rep, ``(n, 2)`` pixels (the newest last), or None
    load_path: np.ndarray | None = None


def _text(img, s, org, scale, color, thick=1):
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 3, cv2.LINE_AA)
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


def _panel(img, lines, org, th) -> None:
    """Draw ``(text, colour, scale)`` lines on a translucent dark box with top-left ``org``."""
    sizes = [cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, sc, th)[0] for t, _, sc in lines]
    pad = max(4, int(sizes[0][1] * 0.5))
    gap = max(6, int(sizes[0][1] * 0.6))
    width = max(sz[0] for sz in sizes) + 2 * pad
    height = sum(sz[1] for sz in sizes) + gap * (len(lines) - 1) + 2 * pad
    x0, y0 = org
    x1, y1 = min(img.shape[1], x0 + width), min(img.shape[0], y0 + height)
    if x1 > x0 and y1 > y0:
        roi = img[y0:y1, x0:x1]
        roi[:] = (roi * 0.45).astype(img.dtype)
    y = y0 + pad
    for (t, col, sc), sz in zip(lines, sizes, strict=True):
        y += sz[1]
        cv2.putText(img, t, (x0 + pad, y), cv2.FONT_HERSHEY_SIMPLEX, sc, col, th, cv2.LINE_AA)
        y += gap


def draw_overlay(frame: np.ndarray, st: OverlayState) -> np.ndarray:
    """Draw ``st`` onto ``frame`` (BGR, modified in place and returned)."""
    h, w = frame.shape[:2]
    s = max(0.5, min(w, h) / 720.0)
    bad = bool(st.faults)
    _draw_load_path(frame, st.load_path, s)
    if st.xy is not None and st.side in ("left", "right") and np.isfinite(st.xy).all(axis=1).any():
        pts = {
            j: st.xy[side_index(st.side, j)]
            for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")
        }
        ok = {j: bool(np.all(np.isfinite(p))) for j, p in pts.items()}
        if ok["shoulder"] and ok["knee"]:  # the straight-line guide
            cv2.line(
                frame,
                tuple(np.round(pts["shoulder"]).astype(int)),
                tuple(np.round(pts["knee"]).astype(int)),
                GREY,
                max(1, int(2 * s)),
                cv2.LINE_AA,
            )
        limb_col = RED if bad else GREEN
        for a, b in SKELETON_EDGES:
            if ok[a] and ok[b]:
                cv2.line(
                    frame,
                    tuple(np.round(pts[a]).astype(int)),
                    tuple(np.round(pts[b]).astype(int)),
                    limb_col,
                    max(2, int(4 * s)),
                    cv2.LINE_AA,
                )
        for j, p in pts.items():
            if ok[j]:
                cv2.circle(
                    frame,
                    tuple(np.round(p).astype(int)),
                    max(3, int(6 * s)),
                    WHITE,
                    -1,
                    cv2.LINE_AA,
                )
        if ok["hip"] and st.angle_deg is not None and np.isfinite(st.angle_deg):
            hp = np.round(pts["hip"]).astype(int)
            _text(
                frame,
                f"{st.angle_deg:.0f} deg",
                (hp[0] + int(12 * s), hp[1] - int(12 * s)),
                0.8 * s,
                RED if bad else WHITE,
                max(1, int(2 * s)),
            )
    # panel: text lines on a translucent dark box, top left
    th = max(1, int(round(1.6 * s)))
    lo, hi = st.target
    lines: list[tuple[str, tuple, float]] = [
        (f"Reps {st.rep_count}  (target {lo}-{hi})", WHITE, 0.85 * s)
    ]
    phase = st.phase
    if st.hold_s is not None and st.phase == "top":
        goal = f" / {st.hold_target_s:.1f}" if st.hold_target_s else ""
        phase += f"  hold {st.hold_s:.1f}{goal} s"
    lines.append((phase, WHITE, 0.75 * s))
    lines += [(f.replace("_", " ").upper(), RED, 0.75 * s) for f in st.faults]
    lines += [(n, AMBER, 0.7 * s) for n in st.notices]
    _panel(frame, lines, (int(10 * s), int(10 * s)), th)
    if st.message:
        (tw, tht), _ = cv2.getTextSize(st.message, cv2.FONT_HERSHEY_SIMPLEX, 0.7 * s, th)
        _panel(
            frame,
            [(st.message, RED if st.message_bad else GREEN, 0.7 * s)],
            (int(10 * s), h - tht - int(26 * s)),
            th,
        )
    if st.stats:
        (tw, _), _ = cv2.getTextSize(st.stats, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, th)
        _panel(frame, [(st.stats, GREY, 0.6 * s)], (w - tw - int(24 * s), int(10 * s)), th)
    return frame


#: The weight's path colour (BGR): cyan, apart from the skeleton's green and red.
CYAN = (230, 200, 40)


def _draw_load_path(frame: np.ndarray, path: np.ndarray | None, s: float) -> None:
    """The bar (weight) path of the rep on screen: a polyline and a dot at the newest point."""
    if path is None:
        return
    pts = path[np.isfinite(path).all(axis=1)]
    if len(pts) == 0:
        return
    ipts = np.round(pts).astype(np.int32)
    if len(ipts) > 1:
        cv2.polylines(frame, [ipts.reshape(-1, 1, 2)], False, CYAN, max(1, int(2 * s)), cv2.LINE_AA)
    cv2.circle(frame, tuple(int(v) for v in ipts[-1]), max(3, int(6 * s)), CYAN, -1, cv2.LINE_AA)


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
    verdict_from: list[tuple[int, str, bool]] = []
    for r in s.reps:
        for f in r.findings:
            if f.severity != "fault":
                continue
            a, b = (
                (r.top_end_frame, r.end_frame)
                if f.rule == "fast_lowering"
                else (r.top_start_frame, r.top_end_frame)
            )
            for i in range(a, b + 1):
                show.setdefault(i, []).append(f.rule)
        if r.findings and any(f.severity == "fault" for f in r.findings):
            first = next(f for f in r.findings if f.severity == "fault")
            verdict_from.append((r.end_frame, f"Rep {r.index}: {first.cue}", True))
        else:
            verdict_from.append((r.end_frame, f"Rep {r.index}: good", False))
    ends = np.array([v[0] for v in verdict_from]) if verdict_from else np.array([], int)
    warning = s.camera.warning

    centres = np.stack(
        [
            fr.get("load_x_px", np.full(len(fr["time_s"]), np.nan)),
            fr.get("load_y_px", np.full(len(fr["time_s"]), np.nan)),
        ],
        axis=1,
    )
    starts = np.array(sorted(r.start_frame for r in s.reps), int)

    def state(i: int) -> OverlayState:
        k = int(np.searchsorted(ends, i, side="right"))
        msg = verdict_from[k - 1] if k > 0 else None
        ph = PHASES[int(fr["phase"][i])] if i < len(fr["phase"]) else "none"
        hold = None
        if ph == "top":
            rep = next((r for r in s.reps if r.top_start_frame <= i <= r.top_end_frame), None)
            if rep is not None:
                hold = float(fr["time_s"][i] - fr["time_s"][rep.top_start_frame])
        xy = analysis.xy[i] if i < len(analysis.xy) else None
        return OverlayState(
            xy=xy,
            side=s.camera.side,
            angle_deg=float(fr["shk_angle_deg"][i]) if i < len(fr["time_s"]) else None,
            phase=ph,
            rep_count=k,
            target=target,
            faults=show.get(i, []),
            message=msg[1] if msg else None,
            message_bad=msg[2] if msg else False,
            hold_s=hold,
            hold_target_s=hold_target,
            notices=[warning] if warning else [],
            load_path=load_path_at(centres, starts, i),
        )

    return state


def write_annotated_video(
    analysis: Analysis,
    video_path: str | os.PathLike,
    out_path: str | os.PathLike,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Re-read ``video_path`` and write the annotated copy to ``out_path`` (.mp4).

    H.264 that browsers play, through :func:`formcheck.sinks.encode.write_video` (which falls
    back to OpenCV's ``mp4v`` with a warning when no ffmpeg with libx264 can be run). The video
    is encoded under a temporary name and renamed when complete, so a failed encode never
    leaves a partial video under ``out_path``.
    """
    from formcheck.pose.video import iter_frames, probe_video, with_turn

    # the picture as analysed: turned as the track says (--rotate, or found on its side)
    info = with_turn(probe_video(video_path), int(analysis.track.meta.get("turn_deg", 0)))
    size = (info.width, info.height)
    state = frame_states(analysis)

    def frames():
        for i, _t, frame in iter_frames(video_path, info):
            if frame.shape[1] != info.width or frame.shape[0] != info.height:
                frame = cv2.resize(frame, size)
            yield draw_overlay(frame, state(i))

    return write_video(out_path, frames(), info.fps, size, progress)
