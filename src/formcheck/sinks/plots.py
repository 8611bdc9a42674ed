"""The shoulder–hip–knee angle plot of a set (PNG), for the HTML report and the review app,
and the trend of an athlete's sets (form score, faults per rep) for the review app.

Angles in degrees, times in seconds. matplotlib is imported on first use (Agg backend).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from formcheck.core.session import Session
from formcheck.sinks.scoring import normalize_reviews

#: Plot axes rectangle in figure fractions (left, bottom, width, height); the review app maps
#: clicks on the plot image to times with it.
PLOT_AXES = (0.06, 0.16, 0.92, 0.76)
PLOT_SIZE_IN = (10.0, 3.2)
PLOT_DPI = 100


def band(session: Session) -> tuple[float, float]:
    """The target band of the peak angle (degrees): the sag and hyperextension limits."""
    rules = session.profile.rules
    return float(rules.sag.min_peak_deg), float(rules.hyperextension.max_peak_deg)


def angle_plot_png(
    session: Session, frames: dict[str, np.ndarray] | None, reviews: Any = None
) -> bytes:
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
    duration = float(session.video.duration_s or 0.0)
    if frames is not None and len(frames["time_s"]):
        duration = max(duration, float(np.nanmax(frames["time_s"])))
    duration = duration or 1.0
    ax.axhspan(lo, hi, color="#2e7d32", alpha=0.10, lw=0)
    for y in (lo, hi):
        ax.axhline(y, color="#2e7d32", lw=0.8, ls="--")
    for r in session.reps:
        ax.axvspan(
            r.start_s, r.end_s, color="#1565c0" if not r.faults else "#c62828", alpha=0.08, lw=0
        )
        ax.axvspan(
            r.top_start_s,
            r.top_end_s,
            color="#1565c0" if not r.faults else "#c62828",
            alpha=0.12,
            lw=0,
        )
    ymin, ymax = lo - 60, hi + 10
    if frames is not None:
        t, a = frames["time_s"], frames["shk_angle_deg"]
        ax.plot(t, a, color="#222", lw=1.3)
        if np.isfinite(a).any():
            ymin = min(ymin, float(np.nanmin(a)) - 5)
            ymax = max(ymax, float(np.nanmax(a)) + 5)
    ymax += 16  # room for the rep numbers and finding labels
    for r in session.reps:
        ax.text(
            (r.start_s + r.end_s) / 2,
            ymax - 1.5,
            str(r.index),
            ha="center",
            va="top",
            fontsize=9,
            color="#333",
            fontweight="bold",
        )
        labels = []
        for f in r.findings:
            if f.time_s is None:
                continue
            overruled = (rv.get((r.index, f.rule)) or {}).get("verdict") == "overrule"
            y = (
                f.value
                if f.unit == "deg" and f.rule in ("sag", "hyperextension") and f.value is not None
                else _angle_at(frames, f.time_s, r.peak_angle_deg)
            )
            color = "#9e9e9e" if overruled else ("#c62828" if f.severity == "fault" else "#ef6c00")
            ax.plot(
                [f.time_s],
                [y],
                marker="v" if f.severity == "fault" else "o",
                ms=7,
                color=color,
                mec="white",
                mew=0.8,
                ls="none",
            )
            labels.append((f.rule.replace("_", " "), f.time_s, y, color))
        # a rep's labels stack downwards from its lowest marker, one line each, so that two
        # findings near the same time ("hyperextension", "knee angle") never overlap
        ys = [lab[2] for lab in labels if lab[2] is not None and math.isfinite(lab[2])]
        y0 = min(ys, default=None)
        for k, (text, t, y, color) in enumerate(labels):
            ax.annotate(
                text,
                (t, y0 if y0 is not None else y),
                textcoords="offset points",
                xytext=(0, -13 - 9 * k),
                ha="center",
                fontsize=6.5,
                color=color,
            )
    ax.set_xlim(0, duration)
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("time (s)", fontsize=9)
    ax.set_ylabel("shoulder–hip–knee (°)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)
    if frames is None:
        ax.text(0.5, 0.5, "frame data not found", transform=ax.transAxes, ha="center", color="#666")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PLOT_DPI)
    return buf.getvalue()


def _angle_at(frames, t_s: float, default: float) -> float:
    """The plotted angle (degrees) nearest ``t_s`` seconds, or ``default`` where there is none."""
    if frames is None or not len(frames["time_s"]):
        return default
    i = int(np.argmin(np.abs(frames["time_s"] - t_s)))
    v = frames["shk_angle_deg"][i]
    return float(v) if math.isfinite(v) else default


def load_path_png(session: Session, frames: dict[str, np.ndarray] | None) -> bytes | None:
    """PNG of the weight's (bar's) path in each rep, image pixels as seen (y down), one colour
    a rep; None without a weight or its per-frame centre (``load_x_px``/``load_y_px``)."""
    if session.load_info.kind == "none" or frames is None or "load_x_px" not in frames:
        return None
    x, y, t = frames["load_x_px"], frames["load_y_px"], frames["time_s"]
    if not np.isfinite(x).any():
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 4.0), dpi=PLOT_DPI)
    ax = fig.add_axes((0.14, 0.12, 0.82, 0.8))
    colours = ("#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457")
    for r in session.reps:
        sel = (t >= r.start_s) & (t <= r.end_s) & np.isfinite(x) & np.isfinite(y)
        if sel.sum() < 2:
            continue
        c = "#c62828" if r.faults else colours[(r.index - 1) % len(colours)]
        ax.plot(x[sel], y[sel], color=c, lw=1.4, label=f"rep {r.index}")
        top = sel & (t >= r.top_start_s) & (t <= r.top_end_s)
        if top.any():
            ax.plot(x[top], y[top], color=c, lw=3.0, alpha=0.5)
    ax.invert_yaxis()  # image rows grow downwards
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("image x (px)")
    ax.set_ylabel("image y (px, up is up)")
    ax.grid(alpha=0.3)
    if session.reps:
        ax.legend(fontsize=8, loc="best")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def progress_figure(
    days: Sequence[str], scores: Sequence[float | None], faults_per_rep: Sequence[float | None]
):
    """The trend of an athlete's sets (a matplotlib ``Figure``): form score 0–100 (left axis,
    the line ``gid="form-score"``, one point per set) and faults per rep (right axis,
    ``gid="faults-per-rep"``) against the day of each set (``YYYY-MM-DD``; sets on the same day
    side by side). A set without a score is a gap."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.8, 3.2), dpi=PLOT_DPI)  # narrow: readable on a phone
    ax = fig.add_axes((0.13, 0.16, 0.72, 0.78))
    x, dated = _progress_x(days)
    y = [math.nan if v is None else float(v) for v in scores]
    f = [math.nan if v is None else float(v) for v in faults_per_rep]
    ax.plot(x, y, marker="o", ms=6, color="#1565c0", lw=1.6, gid="form-score", label="form score")
    ax.set_ylim(0, 105)
    ax.set_ylabel("form score", fontsize=11, color="#1565c0")
    ax2 = ax.twinx()
    ax2.plot(x, f, marker="s", ms=5, color="#c62828", lw=1.0, ls="--", gid="faults-per-rep")
    ax2.set_ylim(0, max([1.0, *(v * 1.15 for v in f if math.isfinite(v))]))
    ax2.set_ylabel("faults per rep", fontsize=11, color="#c62828")
    if dated:
        import matplotlib.dates as mdates

        loc = mdates.AutoDateLocator(maxticks=5)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        if x and max(x) - min(x) < 2:  # one day: a few days either side
            ax.set_xlim(min(x) - 2, max(x) + 2)
    else:
        ax.set_xticks(x, [d or "?" for d in days])
    for a in (ax, ax2):
        a.tick_params(labelsize=10)
    ax.grid(alpha=0.25)
    if not days:
        ax.text(0.5, 0.5, "no sets", transform=ax.transAxes, ha="center", color="#666")
    return fig


def progress_plot_png(
    days: Sequence[str], scores: Sequence[float | None], faults_per_rep: Sequence[float | None]
) -> bytes:
    """:func:`progress_figure` as PNG."""
    buf = io.BytesIO()
    progress_figure(days, scores, faults_per_rep).savefig(buf, format="png", dpi=PLOT_DPI)
    return buf.getvalue()


def _progress_x(days: Sequence[str]) -> tuple[list[float], bool]:
    """x of each set: matplotlib day numbers (the k-th set of a day 0.2 day later per k) when
    every day reads as a date, else 0, 1, 2, ...; and whether they are dates."""
    import datetime as _dt

    try:
        parsed = [_dt.date.fromisoformat(d) for d in days]
    except (TypeError, ValueError):
        return [float(i) for i in range(len(days))], False
    import matplotlib.dates as mdates

    seen: dict[_dt.date, int] = {}
    out = []
    for d in parsed:
        k = seen[d] = seen.get(d, -1) + 1
        out.append(float(mdates.date2num(d)) + 0.2 * k)
    return out, True
