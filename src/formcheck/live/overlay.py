"""What the live window shows: the shared overlay drawing, the rate line, the window itself.

The drawing is :func:`formcheck.sinks.draw.draw_overlay`, the same as in the annotated videos;
this module fills its :class:`~formcheck.sinks.draw.OverlayState` from the live analysis,
scales the frame to the window (the overlay is drawn at the window's size, so its text is
sized for the screen, not the camera) and runs the OpenCV window (``q``/Esc or closing it end
the set).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import deque
from typing import TYPE_CHECKING

import cv2
import numpy as np

from formcheck.sinks.draw import OverlayState, draw_overlay

if TYPE_CHECKING:
    from formcheck.live.engine import LiveAnalyzer, LiveState

#: Title of the live window.
WINDOW_NAME = "formcheck live"
#: Keys that end the set: q, Q, Esc.
END_KEYS = (ord("q"), ord("Q"), 27)


def overlay_state(
    st: LiveState,
    an: LiveAnalyzer,
    stats_text: str | None,
    scale: float = 1.0,
    offset: tuple[float, float] = (0.0, 0.0),
) -> OverlayState:
    """The overlay for one analysed frame (``stats_text``: the developer line, or None), its
    landmarks mapped by ``xy * scale + offset`` (frame pixels → window pixels)."""
    xy = None if st.xy is None else st.xy * scale + np.asarray(offset, float)
    return OverlayState(
        xy=xy,
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


def fit_frame(
    image: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, float, tuple[float, float]]:
    """``image`` scaled to fit ``size`` (width, height px) on a black canvas of that size,
    centred; returns ``(canvas, scale, (dx, dy))`` (frame px × scale + d = canvas px)."""
    h, w = image.shape[:2]
    cw, ch = size
    if (w, h) == (cw, ch):
        return image, 1.0, (0.0, 0.0)
    sc = min(cw / w, ch / h)
    nw, nh = max(1, round(w * sc)), max(1, round(h * sc))
    interp = cv2.INTER_LINEAR if sc > 1 else cv2.INTER_AREA
    small = cv2.resize(image, (nw, nh), interpolation=interp)
    canvas = np.zeros((ch, cw, 3), image.dtype)
    dx, dy = (cw - nw) // 2, (ch - nh) // 2
    canvas[dy : dy + nh, dx : dx + nw] = small
    return canvas, sc, (float(dx), float(dy))


def draw_live(
    image: np.ndarray,
    st: LiveState,
    an: LiveAnalyzer,
    stats_text: str | None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """The overlay drawn at ``size`` (the window's pixels; None: the frame's own, in place):
    text and lines are sized for the picture they are drawn on, so they stay sharp and
    readable however large the window is."""
    if size is None:
        draw_overlay(image, overlay_state(st, an, stats_text))
        return image
    canvas, sc, d = fit_frame(image, size)
    if canvas is image and not image.flags.writeable:
        canvas = image.copy()
    draw_overlay(canvas, overlay_state(st, an, stats_text, sc, d))
    return canvas


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


def screen_size() -> tuple[int, int] | None:
    """The main screen's size (width, height px), or None when it cannot be read: through
    Xlib on X11 (``DISPLAY``), ``GetSystemMetrics`` on Windows; None elsewhere."""
    import ctypes
    import ctypes.util

    try:
        if sys.platform.startswith("win"):
            u = ctypes.windll.user32  # type: ignore[attr-defined]
            return int(u.GetSystemMetrics(0)), int(u.GetSystemMetrics(1))
        name = ctypes.util.find_library("X11")
        if not name or not os.environ.get("DISPLAY"):
            return None
        x11 = ctypes.CDLL(name)
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
        x11.XDisplayWidth.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        dpy = x11.XOpenDisplay(None)
        if not dpy:
            return None
        try:
            scr = x11.XDefaultScreen(dpy)
            w, h = int(x11.XDisplayWidth(dpy, scr)), int(x11.XDisplayHeight(dpy, scr))
        finally:
            x11.XCloseDisplay(dpy)
        return (w, h) if w > 0 and h > 0 else None
    except (OSError, AttributeError):
        return None


class LiveWindow:
    """The OpenCV window the overlay is shown in: full screen by default (a lifter on the bench
    reads it from 2-3 m), or a normal ``size`` window; no toolbar either way."""

    #: How often (frames) the window's size is re-read: it can be resized or go full screen.
    POLL_EVERY = 15

    def __init__(
        self, name: str = WINDOW_NAME, fullscreen: bool = True, size: tuple[int, int] = (1280, 720)
    ) -> None:
        self.name, self.fullscreen, self.size = name, fullscreen, size
        self.shown = False  # a frame has been shown
        self._polls = 0

    def open(self) -> None:
        cv2.namedWindow(self.name, cv2.WINDOW_NORMAL | cv2.WINDOW_FREERATIO | cv2.WINDOW_GUI_NORMAL)
        if self.fullscreen:
            # the screen's size as well as the full-screen flag: without a window manager
            # (a kiosk, a bare X server) Qt ignores the flag
            screen = screen_size()
            if screen is not None:
                self.size = screen
                _try(cv2.moveWindow, self.name, 0, 0)
            _try(cv2.resizeWindow, self.name, *self.size)
            self._go_fullscreen()
        else:
            _try(cv2.resizeWindow, self.name, *self.size)

    def _go_fullscreen(self) -> None:
        _try(cv2.setWindowProperty, self.name, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)

    def canvas_size(self) -> tuple[int, int]:
        """The window's drawing area (width, height px), re-read every :attr:`POLL_EVERY`
        calls (the last known size in between)."""
        if self._polls % self.POLL_EVERY == 0:
            try:
                _, _, w, h = cv2.getWindowImageRect(self.name)
            except cv2.error:
                w = h = 0
            if w >= 160 and h >= 120:
                self.size = (int(w), int(h))
        self._polls += 1
        return self.size

    def show(self, image: np.ndarray) -> None:
        cv2.imshow(self.name, image)
        if not self.shown and self.fullscreen:  # Qt applies the flag to a shown window
            self._go_fullscreen()
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


def _try(call, *args) -> None:
    """A window-manager request (size, place, full screen) some HighGUI back-ends refuse: the
    window stays as it is rather than ending the set."""
    with contextlib.suppress(cv2.error):
        call(*args)
