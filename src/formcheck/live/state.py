"""What the live window shows after one frame: :class:`LiveState`, built from the engine's
state by :func:`live_state` (phase, hold timer, faults of the movement, the message: the newest
cue for 2 s, else the last rep's verdict, and the set-up notices)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from formcheck.core.rules import cue_phrase
from formcheck.core.session import Rep
from formcheck.live import guide
from formcheck.live.cues import Cue

if TYPE_CHECKING:
    from formcheck.live.engine import LiveAnalyzer


@dataclass
class LiveState:
    """What the overlay needs after one frame (:class:`formcheck.sinks.annotate.OverlayState`)."""

    frame: int
    time_s: float
    xy: np.ndarray | None
    side: str
    angle_deg: float | None
    phase: str
    rep_count: int
    hold_s: float | None
    notices: list[str]
    faults: list[str]
    message: str | None
    message_bad: bool
    cues: list[Cue] = field(default_factory=list)  # cues that fired at this frame
    completed: list[Rep] = field(default_factory=list)  # reps completed at this frame
    setup_ok: bool = False


def live_state(an: LiveAnalyzer, notices: list[str], cues: list[Cue], done: list[Rep]) -> LiveState:
    """The overlay state after the newest grid frame (``cues``/``done``: fired/completed now)."""
    i = len(an.xy) - 1
    t = i / an.fps
    rc = an.counter
    phase = rc.phase if an.geom is not None else "set-up"
    if (
        an.geom is not None
        and phase == "bottom"
        and not an.reps
        and an.counter.movements == []
        and any(n not in guide.SOFT for n in notices)
    ):
        phase = "set-up"
    hold = None
    if rc.phase == "top" and np.isfinite(rc.top_since_s):
        hold = max(0.0, t - rc.top_since_s)
    in_move = an.geom is not None and rc.phase != "bottom"
    faults = an.cue_engine.faults if in_move else []
    # the banner belongs to the movement on screen: the newest cue for 2 s, then the faults
    # cued in this movement; between movements, the verdict of the rep just done
    msg, bad = None, False
    last = an.cue_engine.last
    if last is not None and t - last.time_s < 2.0 and last.movement == an.cue_engine.movement:
        msg, bad = last.text, last.kind == "fault"
    elif in_move and faults:
        msg, bad = cue_phrase(faults), True
    elif not in_move and an.last_verdict is not None:
        msg, bad = an.last_verdict[0], an.last_verdict[1]
        faults = list(an.last_verdict[2])
    angle = float(an.s["shk"][i]) if an.geom is not None and i < an.s.n else None
    if angle is not None and not math.isfinite(angle):
        angle = None
    show = (
        notices
        if (not an.reps or any(n not in guide.SOFT and n != guide.CHECKING for n in notices))
        else []
    )
    return LiveState(
        frame=i,
        time_s=t,
        xy=an.xy[i],
        side=an.geom.side if an.geom is not None else "unknown",
        angle_deg=angle,
        phase=phase,
        rep_count=len(an.reps),
        hold_s=hold,
        notices=show,
        faults=faults,
        message=msg,
        message_bad=bad,
        cues=cues,
        completed=done,
        setup_ok=an.geom is not None and not any(n not in guide.SOFT for n in notices),
    )
