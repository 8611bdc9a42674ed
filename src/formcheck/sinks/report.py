"""A self-contained HTML report of one analysed set (``formcheck report RESULT.json``).

One file that works offline: no scripts or styles from elsewhere, the angle plot and the rep
thumbnails embedded as base64 PNG/JPEG. All text is HTML-escaped (Jinja2 autoescape).
The form score is defined in ``docs/review.md`` (see :func:`form_score`).
"""

from __future__ import annotations

import base64
import csv
import io
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import click
import numpy as np

from formcheck.core.rules import RULE_IDS
from formcheck.core.session import Rep, Session

#: Weight of each fault in a rep's score deduction (advisories weigh nothing).
RULE_WEIGHTS = {"sag": 0.5, "hyperextension": 0.5, "lumbar_arch": 0.5, "heel_lift": 0.3,
                "short_hold": 0.25, "fast_lowering": 0.25}
DEFAULT_WEIGHT = 0.25
#: Plot axes rectangle in figure fractions (left, bottom, width, height); the review app maps
#: clicks on the plot image to times with it.
PLOT_AXES = (0.06, 0.16, 0.92, 0.76)
PLOT_SIZE_IN = (10.0, 3.2)
PLOT_DPI = 100

RULE_TITLES = {"sag": "Hips short of straight", "hyperextension": "Hips pushed past straight",
               "lumbar_arch": "Lower back arched", "short_hold": "Short hold at the top",
               "fast_lowering": "Fast lowering", "heel_lift": "Heel lift",
               "knee_angle": "Knee angle", "rep_count": "Rep count"}


# -- reviews ---------------------------------------------------------------------------------
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
    return [f for f in rep.faults
            if (reviews.get((rep.index, f)) or {}).get("verdict") != "overrule"]


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


# -- data files ------------------------------------------------------------------------------
def result_files(session: Session, base_dir: str | os.PathLike | None) -> dict[str, Path | None]:
    """Where the set's frames CSV, annotated video and source video are (None if missing)."""
    base = Path(base_dir) if base_dir is not None else None
    files = session.files or {}
    out: dict[str, Path | None] = {"frames_csv": None, "annotated_video": None, "video": None}
    if base is not None:
        for kind in ("frames_csv", "annotated_video"):
            name = files.get(kind)
            if name and (base / Path(name).name).is_file():
                out[kind] = base / Path(name).name
    src = session.video.get("path")
    if src and src != "synthetic":
        cands = [Path(src)]
        if base is not None and not Path(src).is_absolute():
            cands += [base / src, base / Path(src).name]
        out["video"] = next((c for c in cands if c.is_file()), None)
    return out


def load_frames(csv_path: str | os.PathLike | None) -> dict[str, np.ndarray] | None:
    """``time_s`` and ``shk_angle_deg`` (NaN where empty) from a ``<stem>.frames.csv``."""
    if csv_path is None or not Path(csv_path).is_file():
        return None
    t, a = [], []
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                t.append(float(row["time_s"]))
            except (KeyError, TypeError, ValueError):
                continue
            try:
                a.append(float(row.get("shk_angle_deg") or "nan"))
            except ValueError:
                a.append(float("nan"))
    if not t:
        return None
    return {"time_s": np.asarray(t), "shk_angle_deg": np.asarray(a)}


def band(session: Session) -> tuple[float, float]:
    rules = (session.profile or {}).get("rules", {})
    lo = rules.get("sag", {}).get("min_peak_deg", 170.0)
    hi = rules.get("hyperextension", {}).get("max_peak_deg", 190.0)
    return float(lo), float(hi)


# -- images ----------------------------------------------------------------------------------
def angle_plot_png(session: Session, frames: dict[str, np.ndarray] | None,
                   reviews: Any = None) -> bytes:
    """PNG of the shoulder–hip–knee angle over time: reps shaded, faults marked, band drawn.

    The axes fill :data:`PLOT_AXES` and the x axis spans 0 .. the video duration.
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    rv = normalize_reviews(reviews)
    lo, hi = band(session)
    fig = Figure(figsize=PLOT_SIZE_IN, dpi=PLOT_DPI)
    ax = fig.add_axes(PLOT_AXES)
    duration = float(session.video.get("duration_s") or 0.0)
    if frames is not None and len(frames["time_s"]):
        duration = max(duration, float(np.nanmax(frames["time_s"])))
    duration = duration or 1.0
    ax.axhspan(lo, hi, color="#2e7d32", alpha=0.10, lw=0)
    for y in (lo, hi):
        ax.axhline(y, color="#2e7d32", lw=0.8, ls="--")
    for r in session.reps:
        ax.axvspan(r.start_s, r.end_s, color="#1565c0" if not r.faults else "#c62828",
                   alpha=0.08, lw=0)
        ax.axvspan(r.top_start_s, r.top_end_s, color="#1565c0" if not r.faults else "#c62828",
                   alpha=0.12, lw=0)
    ymin, ymax = lo - 60, hi + 10
    if frames is not None:
        t, a = frames["time_s"], frames["shk_angle_deg"]
        ax.plot(t, a, color="#222", lw=1.3)
        if np.isfinite(a).any():
            ymin = min(ymin, float(np.nanmin(a)) - 5)
            ymax = max(ymax, float(np.nanmax(a)) + 5)
    ymax += 16  # room for the rep numbers and finding labels
    for r in session.reps:
        ax.text((r.start_s + r.end_s) / 2, ymax - 1.5, str(r.index), ha="center", va="top",
                fontsize=9, color="#333", fontweight="bold")
        stacked: dict[int, int] = {}
        for f in r.findings:
            if f.time_s is None:
                continue
            overruled = (rv.get((r.index, f.rule)) or {}).get("verdict") == "overrule"
            y = f.value if f.unit == "deg" and f.rule in ("sag", "hyperextension") \
                and f.value is not None else _angle_at(frames, f.time_s, r.peak_angle_deg)
            color = "#9e9e9e" if overruled else ("#c62828" if f.severity == "fault"
                                                 else "#ef6c00")
            ax.plot([f.time_s], [y], marker="v" if f.severity == "fault" else "o", ms=7,
                    color=color, mec="white", mew=0.8, ls="none")
            slot = int(round(f.time_s * 2))  # labels within ~0.5 s stack upwards
            k = stacked[slot] = stacked.get(slot, -1) + 1
            ax.annotate(f.rule.replace("_", " "), (f.time_s, y), textcoords="offset points",
                        xytext=(0, -12 - 8 * k), ha="center", fontsize=6.5, color=color)
    ax.set_xlim(0, duration)
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("time (s)", fontsize=9)
    ax.set_ylabel("shoulder–hip–knee (°)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)
    if frames is None:
        ax.text(0.5, 0.5, "frame data not found", transform=ax.transAxes, ha="center",
                color="#666")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PLOT_DPI)
    return buf.getvalue()


def _angle_at(frames, t_s: float, default: float) -> float:
    if frames is None or not len(frames["time_s"]):
        return default
    i = int(np.argmin(np.abs(frames["time_s"] - t_s)))
    v = frames["shk_angle_deg"][i]
    return float(v) if math.isfinite(v) else default


def grab_frame(video: str | os.PathLike | None, frame_index: int, max_width: int = 360):
    """One frame (BGR, at most ``max_width`` wide) from a video with OpenCV, or None."""
    if video is None:
        return None
    try:
        import cv2
    except ImportError:
        return None
    cap = cv2.VideoCapture(str(video))
    try:
        if not cap.isOpened():
            return None
        cap.set(cv2.CAP_PROP_POS_FRAMES, max(0, int(frame_index)))
        ok, frame = cap.read()
        if not ok or frame is None:
            return None
    finally:
        cap.release()
    h, w = frame.shape[:2]
    if w > max_width:
        frame = cv2.resize(frame, (max_width, max(1, round(h * max_width / w))),
                           interpolation=cv2.INTER_AREA)
    return frame


def jpeg_b64(frame) -> str | None:
    if frame is None:
        return None
    import cv2
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else None


def thumb_frame(rep: Rep) -> int:
    """The frame shown for a rep: the peak of a sag/hyperextension finding, else mid-top."""
    for f in rep.findings:
        if f.rule in ("sag", "hyperextension") and f.frame is not None:
            return int(f.frame)
    return (rep.top_start_frame + rep.top_end_frame) // 2


# -- measured values -------------------------------------------------------------------------
def _fmt(v: Any, nd: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, (int, float)):
        return f"{v:.{nd}f}"
    return str(v)


def rep_measures(rep: Rep, session: Session) -> list[dict]:
    """Rows of measured value vs threshold for a rep card."""
    rules = (session.profile or {}).get("rules", {})
    lo, hi = band(session)
    rows = [dict(name="Peak shoulder–hip–knee", value=f"{_fmt(rep.peak_angle_deg)}°",
                 target=f"{lo:.0f}–{hi:.0f}°",
                 bad=any(f in rep.faults for f in ("sag", "hyperextension")))]
    if "short_hold" in rules:
        rows.append(dict(name="Hold at the top", value=f"{_fmt(rep.hold_s)} s",
                         target=f"≥ {rules['short_hold'].get('min_hold_s', 0):.1f} s",
                         bad="short_hold" in rep.faults))
    if "fast_lowering" in rules:
        rows.append(dict(name="Lowering", value=f"{_fmt(rep.lowering_s)} s",
                         target=f"≥ {rules['fast_lowering'].get('min_lowering_s', 0):.1f} s",
                         bad="fast_lowering" in rep.faults))
    if "knee_angle" in rules and rep.knee_angle_deg is not None:
        k = rules["knee_angle"]
        rows.append(dict(name="Knee angle at the top", value=f"{_fmt(rep.knee_angle_deg)}°",
                         target=f"{k.get('min_knee_deg', 0):.0f}–{k.get('max_knee_deg', 0):.0f}°",
                         bad=any(f.rule == "knee_angle" for f in rep.findings)))
    if "heel_lift" in rules and rep.heel_rise_m is not None:
        rows.append(dict(name="Heel rise", value=f"{_fmt(rep.heel_rise_m * 100)} cm",
                         target=f"≤ {rules['heel_lift'].get('max_heel_rise_m', 0) * 100:.1f} cm",
                         bad="heel_lift" in rep.faults))
    lum = rep.lumbar or {}
    arch = lum.get("silhouette_deg")
    if "lumbar_arch" in rules and arch is not None:
        la = rules["lumbar_arch"]
        base = lum.get("silhouette_set_baseline_deg", lum.get("silhouette_set_min_deg"))
        value = f"{_fmt(arch)}°" + (f" ({_fmt(arch - base)}° over your own baseline)"
                                    if base is not None else "")
        name = "Belly-to-thigh crease (outline)" if lum.get("silhouette_measure") == \
            "front_crease" else "Lower-back bend (outline)"
        rows.append(dict(name=name, value=value,
                         target=_arch_target(la),
                         bad="lumbar_arch" in rep.faults))
    if rep.counted_by == "hold":
        rp = (session.profile or {}).get("reps", {})
        rows.append(dict(name="Counted as a rep", value=f"held {_fmt(rep.hold_s)} s",
                         target=f"≥ {rp.get('boundary_hold_s', 1.5):.1f} s: the top was within "
                                f"{rp.get('boundary_band_deg', 5.0):.0f}° of the "
                                f"{rp.get('min_peak_deg', 150.0):.0f}° rep line",
                         bad=False))
    return rows


def _arch_target(la: dict) -> str:
    """The lumbar_arch rule's limit in words, for the rep table."""
    if not la.get("enabled", True):
        return "not checked (off)"
    text = f"< {la.get('min_arch_rise_deg', 0):.1f}° over your own baseline"
    alone = la.get("max_arch_alone_deg", 0.0)  # 0: no absolute limit
    return text + (f", ≤ {alone:.0f}°" if alone > 0 else "")


# -- HTML ------------------------------------------------------------------------------------
REPORT_TEMPLATE = r"""{% macro review(rv) %}<div><span class="verdict v-{{ rv.verdict }}">coach: {{ rv.verdict }}</span> <span class="muted">{{ rv.reviewer }}{% if rv.time %} · {{ rv.time[:16]|replace('T', ' ') }}{% endif %}</span>{% if rv.note %}<div class="note">{{ rv.note }}</div>{% endif %}</div>{% endmacro %}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="formcheck {{ version }}">
<title>formcheck report – {{ title }}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.sub{color:#666;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e1e4e8;border-radius:10px;padding:14px}
.card.bad{border-left:5px solid #c62828}.card.ok{border-left:5px solid #2e7d32}
.card img{width:100%;border-radius:6px;display:block;background:#ddd}
.noimg{height:120px;border-radius:6px;background:#eceff1;color:#777;display:flex;align-items:center;justify-content:center;font-size:13px}
.stats{display:flex;gap:14px;flex-wrap:wrap}
.stat{background:#fff;border:1px solid #e1e4e8;border-radius:10px;padding:12px 16px;min-width:120px}
.stat b{display:block;font-size:26px}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{padding:4px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.bad{color:#c62828;font-weight:600}.card td:nth-child(n+2){white-space:nowrap}
.warn{background:#fff4e5;border:1px solid #ffb74d;border-radius:8px;padding:10px 14px;margin:12px 0}
.finding{margin-top:10px;padding-top:8px;border-top:1px dashed #ddd}
.cue{background:#e8f5e9;border-radius:6px;padding:6px 8px;margin:6px 0}
.verdict{display:inline-block;border-radius:4px;padding:1px 7px;font-size:12px;font-weight:600;color:#fff}
.v-agree{background:#2e7d32}.v-overrule{background:#6d4c41}.v-unsure{background:#f9a825;color:#222}
.note{white-space:pre-wrap;background:#f3f3f6;border-radius:6px;padding:6px 8px;margin:4px 0}
.plot{width:100%;background:#fff;border:1px solid #e1e4e8;border-radius:10px}
.muted{color:#777;font-size:13px}
@media print{body{background:#fff}.card{break-inside:avoid}}
</style></head>
<body><main>
<h1>{{ title }}</h1>
<p class="sub">{{ exercise_title }}{% if athlete %} · {{ athlete }}{% endif %}{% if date %} · {{ date }}{% endif %} · analysed {{ created }} · formcheck {{ version }}</p>
{% if camera_warning %}<div class="warn"><b>Camera view:</b> {{ camera_warning }}</div>{% endif %}
{% for w in warnings %}{% if w != camera_warning %}<div class="warn">{{ w }}</div>{% endif %}{% endfor %}
<h2>Summary</h2>
<div class="stats">
<div class="stat"><b>{{ rep_count }}</b>reps{% if attempts %} (+{{ attempts }} attempts){% endif %}</div>
<div class="stat"><b>{{ clean }}/{{ rep_count }}</b>reps without faults</div>
<div class="stat"><b>{{ auto_score_text }}</b>form score</div>
{% if reviewed %}<div class="stat"><b>{{ score_text }}</b>after the coach's review</div>{% endif %}
{% if reviewed %}<div class="stat"><b>{{ n_reviewed }}/{{ n_findings }}</b>findings reviewed</div>{% endif %}
</div>
<p class="muted">Form score: each rep starts at 1 and loses a weight per fault (sag, hyperextension, lumbar arch 0.5; heel lift 0.3; short hold, fast lowering 0.25; advisories 0), never below 0; the score is the mean over the reps × 100.{% if reviewed %} Faults the coach overruled do not count.{% endif %}</p>
{% if fault_rows %}
<table><tr><th>Finding</th><th>Reps</th><th>Severity</th><th>Cue</th></tr>
{% for f in fault_rows %}<tr><td>{{ f.title }}</td><td>{{ f.count }}</td><td>{{ f.severity }}</td><td>{{ f.cue }}</td></tr>{% endfor %}
</table>
{% else %}<p>No faults found.</p>{% endif %}
{% for f in set_findings %}<div class="finding"><b>{{ f.title }}</b>: {{ f.message }}
<div class="cue">{{ f.cue }}</div>{% if f.review %}{{ review(f.review) }}{% endif %}</div>{% endfor %}
<h2>Shoulder–hip–knee angle</h2>
<img class="plot" alt="shoulder-hip-knee angle over time with the reps shaded" src="data:image/png;base64,{{ plot }}">
<p class="muted">Green band: {{ band_lo }}–{{ band_hi }}° (a straight line at the top). Shaded spans: reps (red if faulty), darker at the top. Markers: findings.</p>
<h2>Reps</h2>
<div class="cards">
{% for r in reps %}
<div class="card {{ 'bad' if r.faults else 'ok' }}" id="rep-{{ r.index }}">
{% if r.thumb %}<img alt="rep {{ r.index }} at the top" src="data:image/jpeg;base64,{{ r.thumb }}">{% else %}<div class="noimg">no video frame</div>{% endif %}
<h3>Rep {{ r.index }} <span class="muted">{{ r.span }}</span></h3>
<table>{% for m in r.measures %}<tr><td>{{ m.name }}</td><td class="{{ 'bad' if m.bad else '' }}">{{ m.value }}</td><td class="muted">{{ m.target }}</td></tr>{% endfor %}</table>
{% for f in r.findings %}<div class="finding"><b>{{ f.title }}</b> <span class="muted">{{ f.severity }}{% if f.confidence is not none %}, confidence {{ '%.0f'|format(100 * f.confidence) }} %{% endif %}</span><br>{{ f.message }}
<div class="cue">{{ f.cue }}</div>{% if f.review %}{{ review(f.review) }}{% endif %}</div>{% endfor %}
{% if not r.findings %}<p class="muted">Clean rep.</p>{% endif %}
</div>
{% endfor %}
</div>
{% if not reps %}<p>No reps counted.</p>{% endif %}
</main></body></html>
"""


def _env():
    import jinja2
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _finding_view(f, rep_idx: int, rv: dict) -> dict:
    return dict(rule=f.rule, title=RULE_TITLES.get(f.rule, f.rule), severity=f.severity,
                message=f.message, cue=f.cue, confidence=f.confidence,
                review=rv.get((rep_idx, f.rule)))


def render_report(session: Session, base_dir: str | os.PathLike | None = None,
                  reviews: Any = None, athlete: str | None = None,
                  date: str | None = None, title: str | None = None) -> str:
    """The report HTML (a string); see :func:`write_report`."""
    from formcheck import __version__
    rv = normalize_reviews(reviews)
    files = result_files(session, base_dir)
    frames = load_frames(files["frames_csv"])
    plot = base64.b64encode(angle_plot_png(session, frames, rv)).decode("ascii")
    video = files["annotated_video"] or files["video"]
    reps = []
    for r in session.reps:
        thumb = jpeg_b64(grab_frame(video, thumb_frame(r))) if video is not None else None
        reps.append(dict(index=r.index, faults=counted_faults(r, rv), thumb=thumb,
                         span=f"{r.start_s:.1f}–{r.end_s:.1f} s",
                         measures=rep_measures(r, session),
                         findings=[_finding_view(f, r.index, rv) for f in r.findings]))
    counts = session.fault_counts()
    sev = {f.rule: f.severity for r in session.reps for f in r.findings}
    sev.update({f.rule: f.severity for f in session.set_findings})
    cues = {k: v.get("cue", "") for k, v in (session.profile or {}).get("rules", {}).items()}
    order = [k for k in RULE_IDS if k in counts] + sorted(k for k in counts if k not in RULE_IDS)
    fault_rows = [dict(title=RULE_TITLES.get(k, k), count=counts[k], severity=sev.get(k, ""),
                       cue=cues.get(k, "")) for k in order]
    score = form_score(session, rv)
    auto_score = form_score(session)
    n_findings = sum(len(r.findings) for r in session.reps) + len(session.set_findings)
    exercise = (session.profile or {}).get("exercise", {}).get("title") or session.exercise
    name = title or str(session.video.get("name") or
                        Path(str(session.video.get("path") or "set")).name)
    lo, hi = band(session)
    return _env().from_string(REPORT_TEMPLATE).render(
        title=name, exercise_title=exercise, athlete=athlete, date=date,
        created=(session.created_utc or "")[:16].replace("T", " "),
        version=session.formcheck_version or __version__,
        camera_warning=session.camera.get("warning"), warnings=session.warnings,
        rep_count=session.rep_count, attempts=len(session.attempts),
        clean=sum(1 for r in reps if not r["faults"]),
        score_text="–" if score is None else f"{score:.0f}",
        auto_score_text="–" if auto_score is None else f"{auto_score:.0f}",
        reviewed=bool(rv), n_reviewed=len(rv), n_findings=n_findings,
        fault_rows=fault_rows, plot=plot, band_lo=f"{lo:.0f}", band_hi=f"{hi:.0f}",
        set_findings=[_finding_view(f, 0, rv) for f in session.set_findings], reps=reps)


def write_report(session: Session, html_path: str | os.PathLike,
                 base_dir: str | os.PathLike | None = None, reviews: Any = None,
                 **kw) -> Path:
    """Write the self-contained HTML report of ``session`` to ``html_path``.

    ``base_dir`` is the folder with the result files (frames CSV, annotated video); ``reviews``
    (see :func:`normalize_reviews`) adds the coach's verdicts and notes.
    """
    from formcheck.sinks.files import atomic_write_text
    out = Path(html_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out, render_report(session, base_dir, reviews, **kw))


@click.command("report")
@click.argument("result", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="HTML file to write [default: RESULT's folder/<stem>.report.html].")
@click.option("--db", default=None, metavar="DIR|sqlite:///FILE",
              help="Include the coach's reviews from this review store "
                   "[default: the store in RESULT's folder, if any].")
@click.option("--no-reviews", is_flag=True, help="Leave the coach's reviews out.")
def command(result: Path, out: Path | None, db: str | None, no_reviews: bool) -> None:
    """Write a self-contained HTML report for RESULT.json."""
    session = Session.load(result)
    stem = result.name[:-5] if result.name.endswith(".json") else result.stem
    out = out or result.with_name(f"{stem}.report.html")
    reviews, extra = None, {}
    if not no_reviews:
        reviews, extra = _reviews_from_store(result, db)
    write_report(session, out, base_dir=result.parent, reviews=reviews, **extra)
    click.echo(str(out))


def _reviews_from_store(result: Path, db: str | None):
    """The coach's reviews of ``result`` from ``db`` or, by default, from the nearest review
    store in its folder or up to two folders above (``formcheck review runs/`` keeps its store
    in ``runs/``, ``formcheck analyze --out runs/alice`` in ``runs/alice``)."""
    from formcheck.review.store import DB_NAME, open_store
    key = str(result.resolve())
    if db is not None:
        candidates = [db]
    else:
        folders = [result.resolve().parent, *list(result.resolve().parents)[1:3]]
        candidates = [str(f) for f in folders if (f / DB_NAME).is_file()]
    found = None
    for cand in candidates:
        st = open_store(cand)
        sid = st.set_id_for(key)
        if sid is None:
            continue
        s = st.get_set(sid)
        reviews = st.reviews_for_report(sid)
        extra = {"athlete": s["athlete"], "date": s["set_date"]}
        if reviews:
            return reviews, extra
        found = found or (None, extra)
    return found or (None, {})


__all__ = ["write_report", "render_report", "form_score", "angle_plot_png", "command"]
