"""What the review pages and exports show about a set: findings with their verdicts and
readable values, rep rows, scores, and the CSV/JSON export documents."""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any

from formcheck.core.session import Session
from formcheck.review.media import playable_source
from formcheck.review.store import Store
from formcheck.sinks.report import PLOT_AXES, RULE_TITLES, form_score, rep_measures
from formcheck.sinks.reviewed import reviewed_fault_counts, verdict_words

EXPORT_COLUMNS = (
    "set",
    "athlete",
    "date",
    "exercise",
    "video",
    "rep",
    "rep_start_s",
    "rep_end_s",
    "rule",
    "severity",
    "value",
    "unit",
    "threshold",
    "comparison",
    "time_s",
    "message",
    "cue",
    "verdict",
    "note",
    "reviewer",
    "reviewed_utc",
    "status",
    "counted",
)
#: Finding fields copied into an export row.
_FINDING_EXPORT = (
    "rule",
    "severity",
    "value",
    "unit",
    "threshold",
    "comparison",
    "time_s",
    "message",
    "cue",
    "verdict",
    "note",
    "reviewer",
    "reviewed_utc",
    "status",
)
#: Finding fields in the JSON export.
_FINDING_JSON = (
    "id",
    "rep_idx",
    "rule",
    "severity",
    "value",
    "unit",
    "threshold",
    "comparison",
    "time_s",
    "frame",
    "message",
    "cue",
    "verdict",
    "note",
    "reviewer",
    "reviewed_utc",
    "status",
    "counted",
)
#: Set fields shown outside the app (API, JSON export).
PUBLIC_SET_FIELDS = (
    "id",
    "stem",
    "video_name",
    "athlete",
    "athlete_source",
    "set_date",
    "exercise",
    "rep_count",
    "attempt_count",
    "fault_counts",
    "camera_view",
    "camera_warning",
    "created_utc",
)
_UNIT_FORMATS = {"deg": "{:.1f}°", "s": "{:.1f} s", "reps": "{:.0f} reps"}


def rule_title(rule: str) -> str:
    return RULE_TITLES.get(rule, rule.replace("_", " "))


def fmt_value(f: dict) -> str:
    """A finding's measured value with its unit (metres shown in cm)."""
    v, u = f.get("value"), f.get("unit") or ""
    if v is None:
        return "–"
    if u == "m":
        return f"{v * 100:.1f} cm"
    if u in _UNIT_FORMATS:
        return _UNIT_FORMATS[u].format(v)
    return f"{v:.2f} {u}"


def fmt_threshold(f: dict) -> str:
    """A finding's limit in words: 'at least 170.0°', 'at most 1.0 s'."""
    t, u, c = f.get("threshold"), f.get("unit") or "", f.get("comparison") or ""
    if t is None:
        return ""
    limit = {"<": "at least", ">": "at most"}.get(c, "limit")
    return f"{limit} {fmt_value({'value': t, 'unit': u})}"


@dataclass
class RepView:
    """One rep row of the set page (times in s, angle in deg)."""

    index: int
    start_s: float
    end_s: float
    top_start_s: float
    top_end_s: float
    peak: float
    hold: float
    lowering: float
    faults: list[str]
    measures: Any
    findings: list[dict] = field(default_factory=list)
    flagged: bool = False


@dataclass
class SetView:
    """Everything the set page and the exports show about one set."""

    set: dict  # the store's sets row
    session: Session
    reps: list[RepView]
    set_findings: list[dict]  # set-level findings (rep 0)
    findings: list[dict]  # every present finding with its current verdict and readable text
    score: float | None
    reviewed_score: float | None
    duration: float  # s
    has_video: bool

    def context(self) -> dict:
        """The template context (shallow: rows and the session stay as they are)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def verdicts(self) -> dict[tuple[int, str], dict]:
        """``{(rep, rule): {"verdict": ...}}`` for the reviewed findings."""
        return _verdicts(self.findings)


def _verdicts(findings: list[dict]) -> dict[tuple[int, str], dict]:
    return {(f["rep_idx"], f["rule"]): {"verdict": f["verdict"]} for f in findings if f["verdict"]}


def set_view(store: Store, set_id: int, root: str | os.PathLike | None = None) -> SetView | None:
    """The :class:`SetView` of a stored set, or None if there is no such set (``root``: the
    served folder, where its video must be)."""
    s = store.get_set(set_id)
    if s is None:
        return None
    session = store.session(set_id)
    findings = store.findings(set_id)
    by_rep = _annotate_findings(findings, session)
    reps = [_rep_view(r, session, by_rep.get(r.index, [])) for r in session.reps]
    return SetView(
        set=s,
        session=session,
        reps=reps,
        set_findings=by_rep.get(0, []),
        findings=findings,
        score=form_score(session),
        reviewed_score=form_score(session, _verdicts(findings)),
        duration=float(session.video.duration_s or 0.0),
        has_video=playable_source(s, root) is not None,
    )


def _annotate_findings(findings: list[dict], session: Session) -> dict[int, list[dict]]:
    """Add title, value, threshold and confidence texts to each finding; findings by rep."""
    conf = {(r.index, x.rule): x.confidence for r in session.reps for x in r.findings}
    by_rep: dict[int, list[dict]] = {}
    for f in findings:
        f["title"] = rule_title(f["rule"])
        f["value_text"] = fmt_value(f)
        f["threshold_text"] = fmt_threshold(f)
        c = conf.get((f["rep_idx"], f["rule"]))
        f["confidence_text"] = f"confidence {100 * c:.0f} %" if c is not None else ""
        f["status"] = verdict_words(f["verdict"])  # "overruled by coach", ...
        f["counted"] = f["verdict"] != "overrule"  # in the fault counts and the score
        by_rep.setdefault(f["rep_idx"], []).append(f)
    return by_rep


def _rep_view(r, session: Session, findings: list[dict]) -> RepView:
    return RepView(
        index=r.index,
        start_s=r.start_s,
        end_s=r.end_s,
        top_start_s=r.top_start_s,
        top_end_s=r.top_end_s,
        peak=r.peak_angle_deg,
        hold=r.hold_s,
        lowering=r.lowering_s,
        faults=list(r.faults),
        measures=rep_measures(r, session),
        findings=findings,
        flagged=bool(r.faults) or bool(findings),
    )


def page_data(view: SetView, reviewer: str) -> dict:
    """The JSON the set page's script reads (reps, findings, plot axes, default reviewer)."""
    return {
        "id": view.set["id"],
        "duration": view.duration,
        "plot_axes": PLOT_AXES,
        "reps": [
            {
                "index": r.index,
                "start_s": r.start_s,
                "end_s": r.end_s,
                "top_start_s": r.top_start_s,
                "top_end_s": r.top_end_s,
                "flagged": r.flagged,
            }
            for r in view.reps
        ],
        "findings": [
            {
                "id": f["id"],
                "rep": f["rep_idx"],
                "rule": f["rule"],
                "time_s": f["time_s"],
                "verdict": f["verdict"],
            }
            for f in view.findings
        ],
        "default_reviewer": reviewer,
    }


def public_set(s: dict) -> dict:
    return {k: s[k] for k in PUBLIC_SET_FIELDS}


def api_doc(view: SetView) -> dict:
    """``GET /api/sets/{id}``: the set, its findings with verdicts, the scores."""
    return {
        "set": public_set(view.set),
        "findings": view.findings,
        "score": view.score,
        "reviewed_score": view.reviewed_score,
    }


# -- exports ---------------------------------------------------------------------------------
def export_rows(view: SetView) -> list[dict]:
    """One row per finding (and one per clean rep), with the coach's current verdict."""
    s = view.set
    base = dict(
        set=s["stem"],
        athlete=s["athlete"],
        date=s["set_date"],
        exercise=s["exercise"],
        video=s["video_name"],
    )
    rows = []
    for r in view.reps:
        rep = dict(base, rep=r.index, rep_start_s=round(r.start_s, 3), rep_end_s=round(r.end_s, 3))
        if not r.findings:
            rows.append({k: rep.get(k, "") for k in EXPORT_COLUMNS})
        rows += [_finding_row(rep, f) for f in r.findings]
    rows += [_finding_row(dict(base, rep=""), f) for f in view.set_findings]
    return rows


def _finding_row(rep: dict, f: dict) -> dict:
    d = {k: rep.get(k, "") for k in EXPORT_COLUMNS}
    d.update({k: f.get(k) for k in _FINDING_EXPORT})
    d["counted"] = "yes" if f["counted"] else "no"
    return {k: "" if v is None else v for k, v in d.items()}


def export_csv(view: SetView) -> str:
    """The CSV export (free text neutralised against spreadsheet formulas)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, EXPORT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in export_rows(view):
        w.writerow({k: csv_safe(v) for k, v in row.items()})
    return buf.getvalue()


def export_json(view: SetView, history: list[dict]) -> dict:
    """The JSON export: the set, findings with verdicts, the review history, the result.

    The summary honours the coach: ``set.fault_counts`` and ``form_score`` leave out what the
    coach overruled (``automatic_*``: before the review); each finding has its ``status``
    (``"overruled by coach"``, ...) and whether it is ``counted``."""
    doc_set = public_set(view.set)
    doc_set["automatic_fault_counts"] = doc_set["fault_counts"]
    doc_set["fault_counts"] = reviewed_fault_counts(view.session, view.verdicts())
    return {
        "schema": "formcheck.review",
        "schema_version": "1.1",
        "set": doc_set,
        "form_score": view.reviewed_score,
        "automatic_form_score": view.score,
        "reviewed_form_score": view.reviewed_score,
        "findings": [{k: f[k] for k in _FINDING_JSON} for f in view.findings],
        "review_history": history,
        "session": view.session.to_dict(),
    }


def csv_safe(v):
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def attachment(filename: str, kind: str = "attachment") -> str:
    """A ``content-disposition`` value with a safe file name."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f'{kind}; filename="{safe}"'
