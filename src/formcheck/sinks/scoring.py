"""The form score of a set and the coach's reviews that adjust it (defined in ``docs/review.md``).

Each rep starts at 1 and loses a weight per distinct fault (never below 0); the set's score is the
mean over its reps x 100. Faults a coach overruled do not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from formcheck.core.rules import RULES
from formcheck.core.session import Rep, Session

#: Weight of each fault in a rep's score deduction, from the rule registry (advisories weigh
#: nothing); a rule this version does not know weighs DEFAULT_WEIGHT.
RULE_WEIGHTS = {r.id: r.weight for r in RULES if r.weight > 0}
DEFAULT_WEIGHT = 0.25


def normalize_reviews(reviews: Any) -> dict[tuple[int, str], dict]:
    """``{(rep index, rule): review}``, rep index 0 for set-level findings.

    Accepts that mapping itself (as ``Store.reviews_for_report`` returns) or an iterable of
    dicts with ``rep``/``rep_idx``, ``rule``, ``verdict``, ``note``, ``reviewer``, ``time``.
    """
    if not reviews:
        return {}
    out: dict[tuple[int, str], dict] = {}
    if isinstance(reviews, Mapping):
        for (rep, rule), rv in reviews.items():
            out[(int(rep or 0), str(rule))] = dict(rv)
        return out
    for rv in reviews:
        rep = rv.get("rep_idx", rv.get("rep", 0))
        out[(int(rep or 0), str(rv["rule"]))] = dict(rv)
    return out


def counted_faults(rep: Rep, reviews: Mapping[tuple[int, str], dict] | None = None) -> list[str]:
    """The rep's faults, less those a coach overruled."""
    reviews = reviews or {}
    return [
        f for f in rep.faults if (reviews.get((rep.index, f)) or {}).get("verdict") != "overrule"
    ]


def rep_score(faults: Iterable[str]) -> float:
    """1 for a clean rep, less each distinct fault's weight, never below 0."""
    return max(0.0, 1.0 - sum(RULE_WEIGHTS.get(f, DEFAULT_WEIGHT) for f in set(faults)))


def form_score(session: Session, reviews: Any = None) -> float | None:
    """The set's form score, 0–100: the mean :func:`rep_score` of its reps x 100.

    Overruled faults do not count. ``None`` when the set has no reps.
    """
    if not session.reps:
        return None
    rv = normalize_reviews(reviews)
    return 100.0 * sum(rep_score(counted_faults(r, rv)) for r in session.reps) / len(session.reps)
