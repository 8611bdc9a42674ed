"""What the live window shows: the shared overlay drawing, the rate line, the window itself.

The drawing is :func:`formcheck.sinks.annotate.draw_overlay`, the same as in the annotated
videos; this module only fills its :class:`~formcheck.sinks.annotate.OverlayState` from the
live analysis and runs the OpenCV window (``q``/Esc or closing it end the set).
"""

from __future__ import annotations

import os
import sys
from collections import deque
from typing import TYPE_CHECKING

import cv2
import numpy as np

from formcheck.sinks.annotate import OverlayState, draw_overlay

if TYPE_CHECKING:
    from formcheck.live.engine import LiveAnalyzer, LiveState

#: Title of the live window.
WINDOW_NAME = "formcheck live"
#: Keys that end the set: q, Q, Esc.
END_KEYS = (ord("q"), ord("Q"), 27)


def overlay_state(st: LiveState, an: LiveAnalyzer, stats_text: str | None) -> OverlayState:
    """The overlay for one analysed frame (``stats_text``: the rate line, or None)."""
    return OverlayState(
        xy=st.xy,
        side=st.side,
        angle_deg=st.angle_deg,
        phase=st.phase,
        rep_count=st.rep_count,
        target=an.target,
        faults=st.faults,
        message=st.message,
        message_bad=st.message_bad,
        hold_s=st.hold_s,
        hold_target_s=an.hold_target_s,
        notices=st.notices,
        stats=stats_text,
    )


def draw_live(
    image: np.ndarray, st: LiveState, an: LiveAnalyzer, stats_text: str | None
) -> np.ndarray:
    """Draw the overlay on ``image`` (BGR, in place) and return it."""
    draw_overlay(image, overlay_state(st, an, stats_text))
    return image


class RateLine:
    """The overlay's corner line: results per second over the last ``n`` results and the
    latest frame-to-overlay latency, e.g. ``"27.0 fps   48 ms"``."""

    def __init__(self, n: int = 30) -> None:
        self._done: deque[float] = deque(maxlen=n)
        self.text: str | None = None

    def update(self, t_done: float, latency_ms: float) -> str | None:
        """Count a result finished at ``t_done`` (perf_counter s); the line to show."""
        r = self._done
        r.append(t_done)
        if len(r) >= 2 and r[-1] > r[0]:
            fps_now = (len(r) - 1) / (r[-1] - r[0])
            self.text = f"{fps_now:4.1f} fps  {latency_ms:3.0f} ms"
        return self.text


def has_display() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class LiveWindow:
    """The OpenCV window the overlay is shown in."""

    def __init__(self, name: str = WINDOW_NAME) -> None:
        self.name = name
        self.shown = False  # a frame has been shown

    def open(self) -> None:
        cv2.namedWindow(self.name, cv2.WINDOW_NORMAL)

    def show(self, image: np.ndarray) -> None:
        cv2.imshow(self.name, image)
        self.shown = True

    def wants_to_end(self) -> bool:
        """Poll the keyboard (1 ms): True on q/Esc or when the window was closed."""
        if (cv2.waitKey(1) & 0xFF) in END_KEYS:
            return True
        return self.shown and cv2.getWindowProperty(self.name, cv2.WND_PROP_VISIBLE) < 1

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.name)
            cv2.waitKey(1)
        except cv2.error:
            pass
