"""Drawing one frame's overlay: skeleton with the body part at fault, rep counter, hold bar, cue.

:func:`draw_overlay` is the one drawing used by the annotated videos (``formcheck analyze``)
and the live window (``formcheck live``). Sizes follow the picture (:class:`Layout`: text
heights are shares of the frame's shorter side), so a live window at 1920×1080 gets a counter
and cue about 60-90 px tall, readable from 3 m, and a 640×480 video about 30 px. Faults are
named by their cue ("hips up"), and the part of the body the cue is about is drawn in red:
the hip and the shoulder–knee line for ``sag``/``hyperextension``, the lower back for
``lumbar_arch``, the heel for ``heel_lift``, the hip's path down for ``fast_lowering``, the
hold bar for ``short_hold``. Pixels throughout; angles in degrees, times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from formcheck.core.track import SKELETON_EDGES, side_index

GREEN = (80, 200, 60)
RED = (40, 40, 230)
WHITE = (255, 255, 255)
GREY = (170, 170, 170)
AMBER = (0, 170, 255)
#: The weight's path colour (BGR): cyan, apart from the skeleton's green and red.
CYAN = (230, 200, 40)
#: Solid banner colours (BGR) behind white text: the cue (a fault) and a good rep.
BANNER_BAD = (30, 30, 190)
BANNER_GOOD = (40, 130, 30)
FONT = cv2.FONT_HERSHEY_SIMPLEX

#: Rules whose fault is about the hip's height: hip and shoulder–knee line drawn red.
HIP_LINE_RULES = ("sag", "hyperextension")


@dataclass
class OverlayState:
    """What to draw on one frame. ``xy``: ``(33, 2)`` pixels or None; angles in degrees."""

    xy: np.ndarray | None
    side: str
    angle_deg: float | None
    phase: str
    rep_count: int
    target: tuple[int, int] = (10, 12)
    faults: list[str] = field(default_factory=list)  # rule ids at fault now (drawn red)
    message: str | None = None  # the banner: the cue now, or the verdict of the rep just done
    message_bad: bool = False
    hold_s: float | None = None  # time at the top so far (s), None off the top
    hold_target_s: float | None = None  # the profile's hold (s): the bar is full there
    notices: list[str] = field(default_factory=list)  # set-up guidance / warnings (amber)
    stats: str | None = None  # developer line, e.g. "27 fps  48 ms" (live --debug only)
    #: the weight's path so far in this rep, ``(n, 2)`` pixels (the newest last), or None
    load_path: np.ndarray | None = None
    #: a barbell plate's radius (pixels): its rim is ringed at the path's newest point
    plate_radius_px: float | None = None


@dataclass(frozen=True)
class Layout:
    """Sizes for a ``width`` × ``height`` picture, in pixels (text: cap height)."""

    width: int
    height: int

    @property
    def unit(self) -> float:
        """1 % of the shorter side (px)."""
        return min(self.width, self.height) / 100.0

    @property
    def counter_px(self) -> int:
        return max(14, round(7.5 * self.unit))

    @property
    def cue_px(self) -> int:
        return max(12, round(6.0 * self.unit))

    @property
    def small_px(self) -> int:
        return max(9, round(3.4 * self.unit))

    @property
    def line_px(self) -> int:
        return max(2, round(0.55 * self.unit))

    @property
    def margin(self) -> int:
        return max(6, round(2.0 * self.unit))


@lru_cache(maxsize=8)
def _cap_height(thick: int) -> float:
    """Inked cap height (px) of :data:`FONT` at scale 1, measured by drawing an "H" (the
    font's reported text height is larger than its ink in OpenCV 5)."""
    scale = 4.0
    img = np.zeros((200, 200), np.uint8)
    cv2.putText(img, "H", (10, 150), FONT, scale, 255, thick)
    rows = np.flatnonzero(img.max(axis=1) > 127)
    if rows.size == 0:
        return float(cv2.getTextSize("H", FONT, 1.0, thick)[0][1])
    return float(rows[-1] - rows[0] + 1) / scale


def text_scale(px: float, thick: int) -> float:
    """The OpenCV font scale whose capital letters are ``px`` pixels tall."""
    return px / _cap_height(thick)


def _thick(px: float) -> int:
    return max(1, round(px / 11.0))


def _fit(text: str, px: float, max_w: float) -> tuple[float, int, tuple[int, int]]:
    """``(scale, thickness, (w, h))`` for ``text`` at cap height ``px``, shrunk to ``max_w``."""
    th = _thick(px)
    sc = text_scale(px, th)
    (tw, thh), _ = cv2.getTextSize(text, FONT, sc, th)
    if tw > max_w > 0:
        sc *= max_w / tw
        (tw, thh), _ = cv2.getTextSize(text, FONT, sc, th)
    return sc, th, (tw, thh)


def _box(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, colour=None, dim=0.35) -> None:
    """A filled box: solid ``colour``, or the picture darkened to ``dim`` of its brightness."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    if colour is None:
        roi[:] = (roi * dim).astype(img.dtype)
    else:
        roi[:] = colour


def _pad(text_h: int) -> int:
    return max(3, round(0.45 * text_h))


def _box_height(text: str, px: float, max_w: float = 0.0) -> int:
    """Height (px) of :func:`label`'s box for ``text`` at cap height ``px``."""
    _, _, (_, thh) = _fit(text, px, max_w)
    return thh + 2 * _pad(thh)


def label(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    px: float,
    colour=WHITE,
    box=None,
    max_w: float = 0.0,
    anchor: str = "left",
) -> tuple[int, int, int, int]:
    """``text`` with capitals ``px`` tall on a box (darkened picture, or a solid ``box``
    colour), its top-left (or top-centre with ``anchor="centre"``) at ``org``; the box drawn."""
    sc, th, (tw, thh) = _fit(text, px, max_w)
    pad = _pad(thh)
    x0 = org[0] - (tw // 2 + pad if anchor == "centre" else 0)
    y0 = org[1]
    x1, y1 = x0 + tw + 2 * pad, y0 + thh + 2 * pad
    _box(img, x0, y0, x1, y1, box)
    cv2.putText(img, text, (x0 + pad, y0 + pad + thh), FONT, sc, colour, th, cv2.LINE_AA)
    return x0, y0, x1, y1


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _draw_body(frame: np.ndarray, st: OverlayState, lay: Layout) -> None:
    """Skeleton (green), the straight-line guide, the part at fault (red), the angle label."""
    if st.xy is None or st.side not in ("left", "right"):
        return
    joints = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")
    pts = {j: st.xy[side_index(st.side, j)] for j in joints}
    ok = {j: bool(np.all(np.isfinite(p))) for j, p in pts.items()}
    if not any(ok.values()):
        return
    lw, faults = lay.line_px, set(st.faults)
    hip_bad = bool(faults & set(HIP_LINE_RULES))
    if ok["shoulder"] and ok["knee"]:  # the straight line the body should make at the top
        col = RED if hip_bad else GREY
        cv2.line(frame, _pt(pts["shoulder"]), _pt(pts["knee"]), col, max(1, lw // 2), cv2.LINE_AA)
    for a, b in SKELETON_EDGES:
        if ok[a] and ok[b]:
            red = hip_bad and "hip" in (a, b)
            cv2.line(frame, _pt(pts[a]), _pt(pts[b]), RED if red else GREEN, lw, cv2.LINE_AA)
    r = max(3, round(1.1 * lay.line_px))
    for j, p in pts.items():
        if ok[j]:
            cv2.circle(frame, _pt(p), r, WHITE, -1, cv2.LINE_AA)
    _draw_fault_marks(frame, pts, ok, faults, lay, r)
    if ok["hip"] and st.angle_deg is not None and np.isfinite(st.angle_deg):
        x, y = _pt(pts["hip"])
        px = lay.small_px
        label(frame, f"{st.angle_deg:.0f} deg", (x + 5 * r, y - 5 * r - 2 * px), px)


def _draw_fault_marks(frame, pts: dict, ok: dict, faults: set[str], lay: Layout, r: int) -> None:
    """The part of the body a fault is about, in red (see the module docstring)."""
    lw = lay.line_px
    hip_bad = bool(faults & set(HIP_LINE_RULES))
    if "lumbar_arch" in faults and ok["hip"] and ok["shoulder"]:  # the lower back
        hip, sh = pts["hip"], pts["shoulder"]
        cv2.line(frame, _pt(hip), _pt(hip + 0.45 * (sh - hip)), RED, 2 * lw, cv2.LINE_AA)
    if "heel_lift" in faults and ok["heel"]:
        cv2.circle(frame, _pt(pts["heel"]), 4 * r, RED, lw, cv2.LINE_AA)
    if ok["hip"] and (hip_bad or "fast_lowering" in faults):
        cv2.circle(frame, _pt(pts["hip"]), 4 * r, RED, lw, cv2.LINE_AA)
    if "fast_lowering" in faults and ok["hip"]:  # an arrow down from the hip
        x, y = _pt(pts["hip"])
        d = round(8 * lay.unit)
        cv2.arrowedLine(frame, (x, y + 4 * r), (x, y + 4 * r + d), RED, lw, cv2.LINE_AA, 0, 0.35)


def _draw_counter(frame: np.ndarray, st: OverlayState, lay: Layout) -> int:
    """Rep counter, phase and hold bar, top left; returns the panel's bottom (px)."""
    m = lay.margin
    lo, hi = st.target
    x0, y0, x1, y1 = label(frame, f"{st.rep_count}", (m, m), lay.counter_px)
    label(frame, f"reps  (aim {lo}-{hi})", (x1, y0), lay.small_px)
    y = y1 + m // 2
    phase = "set-up" if st.phase == "set-up" else st.phase
    _, _, px1, y = label(frame, phase, (m, y), lay.small_px)
    if st.hold_s is not None and st.hold_target_s:
        # the hold bar: fills to the profile's hold; red if the hold ends short (short_hold)
        bw, bh = round(26 * lay.unit), round(2.4 * lay.unit)
        bx, by = m, y + m // 2
        share = min(1.0, max(0.0, st.hold_s / st.hold_target_s))
        done = share >= 1.0
        col = RED if "short_hold" in st.faults else GREEN if done else AMBER
        _box(frame, bx, by, bx + bw, by + bh)
        _box(frame, bx, by, bx + round(bw * share), by + bh, col)
        cv2.rectangle(frame, (bx, by), (bx + bw, by + bh), WHITE, max(1, lay.line_px // 3))
        label(
            frame,
            f"hold {st.hold_s:.1f} / {st.hold_target_s:.1f} s",
            (bx + bw + m // 2, by - m // 4),
            lay.small_px,
        )
        y = by + bh
    return y


def draw_overlay(frame: np.ndarray, st: OverlayState) -> np.ndarray:
    """Draw ``st`` onto ``frame`` (BGR, modified in place and returned)."""
    h, w = frame.shape[:2]
    lay = Layout(w, h)
    _draw_load_path(frame, st.load_path, lay, st.plate_radius_px)
    _draw_body(frame, st, lay)
    y = _draw_counter(frame, st, lay)
    m = lay.margin
    for n in st.notices:  # set-up guidance: as large as a cue, under the counter
        _, _, _, y = label(frame, n, (m, y + m // 2), 0.8 * lay.cue_px, AMBER, max_w=w - 2 * m)
    if st.message:
        px, max_w = lay.cue_px, w - 3 * m
        top = h - m - _box_height(st.message, px, max_w)
        box = BANNER_BAD if st.message_bad else BANNER_GOOD
        label(frame, st.message, (w // 2, top), px, WHITE, box, max_w=max_w, anchor="centre")
    if st.stats:
        sc, th, (tw, _) = _fit(st.stats, lay.small_px * 0.8, 0)
        label(frame, st.stats, (w - tw - 2 * m, m), lay.small_px * 0.8, GREY)
    return frame


def _draw_load_path(
    frame: np.ndarray, path: np.ndarray | None, lay: Layout, radius: float | None = None
) -> None:
    """The bar (weight) path of the rep on screen: a polyline and a dot at the newest point,
    and a barbell plate's fitted rim (``radius`` px) ringed there."""
    if path is None:
        return
    pts = path[np.isfinite(path).all(axis=1)]
    if len(pts) == 0:
        return
    ipts = np.round(pts).astype(np.int32)
    lw = max(1, lay.line_px // 2)
    if len(ipts) > 1:
        cv2.polylines(frame, [ipts.reshape(-1, 1, 2)], False, CYAN, lw, cv2.LINE_AA)
    end = tuple(int(v) for v in ipts[-1])
    cv2.circle(frame, end, 2 * lw + 2, CYAN, -1, cv2.LINE_AA)
    if radius:
        cv2.circle(frame, end, int(round(radius)), CYAN, lw, cv2.LINE_AA)
