"""HTML reports for a batch run (``formcheck batch --report``): one self-contained
``<stem>.report.html`` per analysed video, written from its result JSON in the output folder
after the run (so videos analysed on a cluster get them too, and a rerun adds the reports of
videos finished earlier)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from formcheck.batch.ledger import DONE_STATUSES
from formcheck.errors import FormcheckError


@dataclass
class BatchReports:
    """What :func:`write_batch_reports` did: the reports written (paths) and the videos whose
    report failed (``(stem, reason)``; their results are untouched)."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def write_batch_reports(
    rows: list[dict], out_dir: Path, echo: Callable[[str], None] = lambda m: None
) -> BatchReports:
    """Write ``<stem>.report.html`` beside each finished result of ``rows`` (index rows of
    :class:`formcheck.batch.run.BatchResult`); a report that cannot be written is a warning,
    never a lost result."""
    from formcheck.resultfile import load_result
    from formcheck.sinks.report import write_report

    done = BatchReports()
    for row in rows:
        outputs = row.get("outputs") or {}
        if row.get("status") not in DONE_STATUSES or "json" not in outputs:
            continue
        stem = str(row.get("stem") or Path(str(outputs["json"])).stem)
        try:
            session = load_result(Path(out_dir) / str(outputs["json"]))
            path = write_report(session, Path(out_dir) / f"{stem}.report.html", base_dir=out_dir)
        except (FormcheckError, OSError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            done.failed.append((stem, reason))
            echo(f"warning: {stem}: no report ({reason})")
            continue
        done.written.append(path)
    return done
