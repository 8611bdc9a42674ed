"""What the coach's verdicts do to a set's summary: overruled findings are not counted, and
each reviewed finding says so in plain words (for the report and the review app's exports).

Reviews are ``{(rep index (0: set-level), rule): {"verdict": ..., "note": ...}}`` as
:func:`formcheck.sinks.scoring.normalize_reviews` returns them.
"""

from __future__ import annotations

from collections.abc import Mapping

from formcheck.core.session import Session
from formcheck.sinks.scoring import counted_faults

__all__ = ["VERDICT_WORDS", "is_overruled", "reviewed_fault_counts", "verdict_words"]

#: A verdict in words, as the report and the exports show it.
VERDICT_WORDS = {
    "agree": "confirmed by coach",
    "overrule": "overruled by coach",
    "unsure": "coach unsure",
}


def verdict_words(verdict: str | None) -> str:
    """``"overruled by coach"`` etc.; ``""`` for a finding without a verdict."""
    return VERDICT_WORDS.get(verdict or "", "")


def is_overruled(reviews: Mapping[tuple[int, str], dict], rep_idx: int, rule: str) -> bool:
    """Whether the coach overruled the finding ``rule`` of rep ``rep_idx`` (0: the set)."""
    return (reviews.get((int(rep_idx or 0), rule)) or {}).get("verdict") == "overrule"


def reviewed_fault_counts(
    session: Session, reviews: Mapping[tuple[int, str], dict] | None = None
) -> dict[str, int]:
    """Reps with each fault, set-level findings once each (as :meth:`Session.fault_counts`),
    less what the coach overruled; rules left with no count are absent."""
    reviews = reviews or {}
    counts: dict[str, int] = {}
    for r in session.reps:
        for rule in counted_faults(r, reviews):
            counts[rule] = counts.get(rule, 0) + 1
    for f in session.set_findings:
        if not is_overruled(reviews, 0, f.rule):
            counts[f.rule] = counts.get(f.rule, 0) + 1
    return counts
