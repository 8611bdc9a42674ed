"""What a live set without a window prints: one line per completed rep, e.g.

``rep 3: good  (top 178 deg, hold 2.1 s, lowering 2.4 s)``
``rep 4: hips up  (sag: top 161 deg)``

The verdict is "good" or the live cue of each fault (the rules' ``live_text``); in brackets the
rep's top angle, hold and lowering times, or for a faulty rep what each fault measured. ASCII
only (a terminal in any encoding prints it). Degrees, seconds; heel rise in centimetres.
"""

from __future__ import annotations

import math

from formcheck.core.rules import Finding, rule
from formcheck.core.session import Rep

#: How each rule measure is named in the line.
_LABEL = {
    "peak_angle_deg": "top",
    "knee_angle_deg": "knee",
    "arch_sil_deg": "arch",
    "hold_s": "hold",
    "lowering_s": "lowering",
    "heel_rise_m": "heel rise",
}


def _value(v: float | None, unit: str) -> str:
    if v is None or not math.isfinite(v):
        return "?"
    if unit == "deg":
        return f"{v:.0f} deg"
    if unit == "m":
        return f"{v * 100:.1f} cm"
    return f"{v:.1f} {unit}"


def _what(f: Finding) -> str:
    """``sag: top 161 deg``: the rule and what it measured."""
    try:
        measure = rule(f.rule).measure
    except KeyError:
        return f"{f.rule}: {_value(f.value, f.unit)}"
    return f"{f.rule}: {_LABEL.get(measure, measure)} {_value(f.value, f.unit)}"


def _cue(rule_id: str) -> str:
    try:
        return rule(rule_id).live_text or rule_id
    except KeyError:
        return rule_id


def rep_line(rep: Rep) -> str:
    """The printed line for one completed rep (see the module docstring)."""
    bad = [f for f in rep.findings if f.severity == "fault"]
    if not bad:
        what = (
            f"top {_value(rep.peak_angle_deg, 'deg')}, hold {_value(rep.hold_s, 's')}, "
            f"lowering {_value(rep.lowering_s, 's')}"
        )
        return f"rep {rep.index}: good  ({what})"
    cues = list(dict.fromkeys(_cue(f.rule) for f in bad))  # one "ribs down" for two rules
    return f"rep {rep.index}: {', '.join(cues)}  ({', '.join(_what(f) for f in bad)})"
