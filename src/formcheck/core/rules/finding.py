"""A broken rule, as the result records it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass
class Finding:
    """One broken rule. ``value`` in ``unit``; broken when ``value <comparison> threshold``.

    ``severity`` is ``"fault"`` or ``"advisory"``; ``comparison`` is ``"<"`` or ``">"`` (the
    broken side); ``time_s``/``frame`` locate it; ``estimate`` names what measured it
    (``"angle"``, ``"silhouette"``, ``"landmarks"``); ``confidence`` is 0–1.
    """

    rule: str
    severity: str
    value: float | None
    unit: str
    threshold: float | None
    comparison: str
    time_s: float | None
    frame: int | None
    cue: str
    message: str
    estimate: str | None = None
    confidence: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("value", "threshold", "time_s", "confidence"):
            if isinstance(d[k], float):
                d[k] = round(d[k], 4) if math.isfinite(d[k]) else None
        return d
