"""The athlete progress report: one self-contained HTML page (the trend plot embedded as a
base64 PNG, the report's own CSS inline, no scripts) that reads on a phone without sideways
scrolling. Served by the review app as a download (:mod:`formcheck.review.progress_routes`).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import jinja2

from formcheck.review.progress import AthleteProgress
from formcheck.sinks.plots import progress_plot_png
from formcheck.sinks.report import REPORT_TEMPLATE, RULE_TITLES

__all__ = ["REPORT_CSS", "progress_plot", "render_progress_report"]

TEMPLATE = Path(__file__).parent / "templates" / "progress_report.html"
#: The set report's stylesheet, shared so the two downloads look alike on a phone.
REPORT_CSS = re.search(r"<style>(.*?)</style>", REPORT_TEMPLATE, re.S).group(1)  # type: ignore[union-attr]


def progress_plot(progress: AthleteProgress) -> bytes:
    """The athlete's trend plot (PNG): form score and faults per rep, one point per set."""
    sets = progress.sets
    return progress_plot_png(
        [s.date for s in sets], [s.score for s in sets], [s.faults_per_rep for s in sets]
    )


def render_progress_report(progress: AthleteProgress, generated_utc: str = "") -> str:
    """The progress report of ``progress`` (HTML text, autoescaped)."""
    from formcheck import __version__

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["rule_title"] = lambda r: RULE_TITLES.get(r, r.replace("_", " "))
    plot = base64.b64encode(progress_plot(progress)).decode("ascii")
    return env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        p=progress,
        css=REPORT_CSS,
        plot=plot,
        version=__version__,
        generated=generated_utc[:16].replace("T", " "),
    )
