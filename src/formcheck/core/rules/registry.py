"""The rule registry: one :class:`Rule` object per finding, read by every consumer.

A rule carries its id, title, the measure it reads, its unit, its weight in the form score,
the short cue spoken/shown live, and two decisions on the thresholds of a :class:`Profile`:

- :meth:`Rule.evaluate` — offline (and live, once a rep is complete): a finished rep's
  :class:`~formcheck.core.measures.RepMeasures` → a :class:`Finding` or None;
- :meth:`Rule.live` — during a movement: is the fault showing now, from a :class:`LiveMoment`.

Offline analysis, the live cue engine, the report and the review app all read rules from
:data:`RULES`; none of them compares a threshold of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from formcheck.core.measures import RepMeasures
from formcheck.core.rules.angle import Hyperextension, KneeAngle, Sag
from formcheck.core.rules.base import Rule
from formcheck.core.rules.feet import HeelLift, RepCount
from formcheck.core.rules.finding import Finding
from formcheck.core.rules.lumbar import LumbarArch
from formcheck.core.rules.profile import Profile
from formcheck.core.rules.timing import FastLowering, ShortHold

#: Every rule, in the order findings are reported.
RULES: tuple[Rule, ...] = (
    Sag(),
    Hyperextension(),
    LumbarArch(),
    ShortHold(),
    FastLowering(),
    HeelLift(),
    KneeAngle(),
    RepCount(),
)
RULE_IDS = tuple(r.id for r in RULES)
_BY_ID = {r.id: r for r in RULES}
#: Rules that judge a rep while it happens (their :meth:`Rule.live` is meaningful).
LIVE_RULES = tuple(r for r in RULES if r.live_text is not None)


def rule(rule_id: str) -> Rule:
    """The rule with id ``rule_id`` (KeyError for an unknown one)."""
    return _BY_ID[rule_id]


def title(rule_id: str) -> str:
    """A rule's title, or a readable form of an unknown id (e.g. from a newer result)."""
    r = _BY_ID.get(rule_id)
    return r.title if r is not None else rule_id.replace("_", " ")


def cue_words(rule_id: str) -> str:
    """A rule's fault in a lifter's words (lower case): its live cue ("hips up"), else its
    title; an unknown id (from a newer result) reads as its words."""
    r = _BY_ID.get(rule_id)
    if r is None:
        return rule_id.replace("_", " ")
    return str(r.live_text or r.title).lower()


def cue_phrase(rule_ids: Iterable[str]) -> str:
    """Several faults in a lifter's words, each once, in order: "hips up + feet flat"."""
    return " + ".join(dict.fromkeys(cue_words(r) for r in rule_ids))


def evaluate_rep(m: RepMeasures, p: Profile) -> list[Finding]:
    """Findings for one finished rep, each enabled rule in :data:`RULES` order."""
    out: list[Finding] = []
    for r in RULES:
        if p.enabled(r.id):
            f = r.evaluate(m, p, out)
            if f is not None:
                out.append(f)
    return out


def evaluate_set(rep_count: int, p: Profile) -> list[Finding]:
    """Set-level findings (``rep_count``)."""
    rc = _BY_ID["rep_count"]
    if not p.enabled("rep_count"):
        return []
    f = rc.evaluate_set(rep_count, p)  # type: ignore[attr-defined]
    return [] if f is None else [f]
