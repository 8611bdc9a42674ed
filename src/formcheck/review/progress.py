"""An athlete's progress over time: their sets by date with reps, form score and faults per
rep, the coach's verdicts honoured (overruled faults do not count), for the athlete page, its
trend plot and the progress report download.

The form score is :func:`formcheck.sinks.scoring.form_score` (0–100); "faults per rep" is the
mean number of counted faults per rep (set-level advisories are not per rep: left out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from formcheck.core.rules import RULE_IDS
from formcheck.core.session import Session
from formcheck.review.queries import StoreQueries
from formcheck.sinks.reviewed import reviewed_fault_counts
from formcheck.sinks.scoring import counted_faults, form_score

__all__ = ["AthleteProgress", "SetProgress", "athlete_progress"]


@dataclass(frozen=True)
class SetProgress:
    """One set on an athlete's progress line."""

    set_id: int
    date: str  # YYYY-MM-DD
    name: str  # the video's name (or the result's stem)
    exercise: str
    reps: int
    attempts: int
    score: float | None  # form score 0–100 after the coach's review; None without reps
    auto_score: float | None  # form score 0–100 before the review
    faults_per_rep: float | None  # counted faults per rep; None without reps
    faults: list[tuple[str, int]]  # (rule, reps with it), counted, in the rules' order
    n_overruled: int  # findings the coach overruled (not counted)


@dataclass(frozen=True)
class AthleteProgress:
    """An athlete's sets, oldest first."""

    athlete: str
    sets: list[SetProgress] = field(default_factory=list)

    @property
    def scored(self) -> list[SetProgress]:
        """The sets with a form score (sets without reps have none)."""
        return [s for s in self.sets if s.score is not None]

    @property
    def first_last(self) -> tuple[SetProgress, SetProgress] | None:
        """The first and the latest scored set, or None without one."""
        scored = self.scored
        return (scored[0], scored[-1]) if scored else None


def athlete_progress(store: StoreQueries, athlete: str) -> AthleteProgress | None:
    """The :class:`AthleteProgress` of ``athlete``, or None when they have no set."""
    rows = store.athlete_sets(athlete)
    if not rows:
        return None
    out = []
    for s in rows:
        session = Session.from_dict(json.loads(s["session_json"]))
        reviews = store.reviews_for_report(s["id"])
        out.append(_set_progress(s, session, reviews))
    return AthleteProgress(athlete=athlete, sets=out)


def _set_progress(s: dict, session: Session, reviews: dict) -> SetProgress:
    counts = reviewed_fault_counts(session, reviews)
    order = [k for k in RULE_IDS if k in counts] + sorted(k for k in counts if k not in RULE_IDS)
    n = len(session.reps)
    per_rep = sum(len(counted_faults(r, reviews)) for r in session.reps) / n if n else None
    return SetProgress(
        set_id=int(s["id"]),
        date=s["set_date"],
        name=s["video_name"] or s["stem"],
        exercise=s["exercise"],
        reps=session.rep_count,
        attempts=len(session.attempts),
        score=form_score(session, reviews),
        auto_score=form_score(session),
        faults_per_rep=per_rep,
        faults=[(k, counts[k]) for k in order],
        n_overruled=sum(1 for v in reviews.values() if v.get("verdict") == "overrule"),
    )
