"""What a live set produced, and how it is saved.

The processed frames become a :class:`~formcheck.core.track.PoseTrack` on the source's frame
grid, analysed offline with :func:`formcheck.analysis.analyze_track` and written with
:func:`formcheck.sinks.files.write_outputs`, plus ``<stem>.cues.json`` (live verdicts, cues,
timing) and, when the frames are at hand, ``<stem>.annotated.mp4``: the saved result is the
offline analysis of exactly what live saw.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from formcheck.errors import FormcheckError
from formcheck.fsutil import atomic_write_text, writable_dir

if TYPE_CHECKING:
    from formcheck.analysis import Analysis
    from formcheck.core.session import Rep
    from formcheck.live.capture import SourceInfo
    from formcheck.live.engine import Cue, LiveAnalyzer


@dataclass
class LiveStats:
    """Timing of a live set."""

    frames_read: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0  # read but never given to the model
    duration_s: float = 0.0
    model_ms: list[float] = field(default_factory=list)  # per processed frame
    latency_ms: list[float] = field(default_factory=list)  # frame read -> overlay drawn

    @property
    def processed_fps(self) -> float:
        return self.frames_processed / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def dropped_share(self) -> float:
        return self.frames_dropped / self.frames_read if self.frames_read else 0.0

    def to_dict(self) -> dict:
        lat = np.asarray(self.latency_ms, float)
        mod = np.asarray(self.model_ms, float)

        def pct(a: np.ndarray, q: float) -> float | None:
            return round(float(np.percentile(a, q)), 1) if a.size else None

        return {
            "frames_read": self.frames_read,
            "frames_processed": self.frames_processed,
            "frames_dropped": self.frames_dropped,
            "dropped_share": round(self.dropped_share, 4),
            "duration_s": round(self.duration_s, 3),
            "processed_fps": round(self.processed_fps, 2),
            "latency_ms_p50": pct(lat, 50),
            "latency_ms_p95": pct(lat, 95),
            "model_ms_p50": pct(mod, 50),
            "model_ms_p95": pct(mod, 95),
        }


@dataclass
class LiveResult:
    """What a live session produced. ``reps`` are the live (causal) verdicts; ``analysis`` is
    the offline analysis of the saved track (what the result files hold)."""

    analysis: Analysis | None
    reps: list[Rep]
    attempts: list[Rep]
    cues: list[Cue]
    stats: LiveStats
    files: dict[str, str]  # kind -> file name in out_dir
    out_dir: Path | None
    stem: str
    error: str | None = None


def unfinished_cues(cues: list[Cue], reps: list[Rep], attempts: list[Rep]) -> list[Cue]:
    """The fault cues given on a movement the set ended in (after the last completed rep or
    attempt): live said them, the result counts no rep for them."""
    ends = [r.end_s for r in (*reps, *attempts)]
    last = max(ends) if ends else -1.0
    return [c for c in cues if c.kind == "fault" and c.time_s > last]


def unfinished_note(cues: list[Cue], end_s: float) -> str | None:
    """The result's warning for :func:`unfinished_cues` (None when there are none)."""
    if not cues:
        return None
    said = ", ".join(dict.fromkeys(f'"{c.text}" ({c.rule})' for c in cues))
    return (
        f"the set ended mid-rep at {end_s:.1f} s: that rep is not counted, but live cued {said} "
        "on it"
    )


def analyse(an: LiveAnalyzer, info: SourceInfo, model_path, stats: LiveStats) -> Analysis:
    """The offline analysis of the frames ``an`` saw."""
    from formcheck.analysis import analyze_track, model_meta
    from formcheck.pose.models import model_info

    mi = model_info(model_path)
    track = an.track(
        meta=dict(
            source=info.path or info.name,
            model=str(model_path),
            model_sha256=mi.get("sha256"),
            live=True,
            source_kind=info.kind,
            frames_read=stats.frames_read,
            frames_processed=stats.frames_processed,
        )
    )
    n = track.n_frames
    meta = {
        "path": info.path or info.name,
        "name": Path(info.path).name if info.path else info.name,
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "frames": n,
        "duration_s": round(n / info.fps, 3),
    }
    # live chose the exercise at the set-up (--exercise auto): offline reads it as analyze does
    analysis = analyze_track(track, an.candidates or an.profile, video_meta=meta)
    model_meta(analysis.session, mi)
    if an.legs is not None and an.legs.count:  # repaired as the frames came in
        from formcheck.notes import LEG_WARNING

        analysis.session.warnings.append(LEG_WARNING.format(n=an.legs.count))
    # a rep the set ended in: nothing offline to judge, but what live said on it is kept
    note = unfinished_note(unfinished_cues(an.cues, an.reps, an.attempts), n / info.fps)
    if note is not None:
        analysis.session.warnings.append(note)
    return analysis


def write_annotated(analysis: Analysis, video_path, out_path: Path, n_frames: int) -> Path:
    """The annotated video of the first ``n_frames`` frames of ``video_path``, written as
    ``formcheck analyze`` writes it (:func:`formcheck.sinks.annotate.write_annotated_video`)."""
    from formcheck.sinks.annotate import write_annotated_video

    return write_annotated_video(analysis, video_path, out_path, max_frames=n_frames)


def cues_document(result: LiveResult, info: SourceInfo) -> dict:
    """The content of ``<stem>.cues.json``: live verdicts, cues and timing."""
    return {
        "schema": "formcheck.live_cues",
        "version": 1,
        "source": info.name,
        "fps": info.fps,
        "stats": result.stats.to_dict(),
        "live_reps": [r.to_dict() for r in result.reps],
        "cues": [c.to_dict() for c in result.cues],
        # fault cues on a movement the set ended in (no rep counted for it)
        "unfinished_cues": [
            c.to_dict() for c in unfinished_cues(result.cues, result.reps, result.attempts)
        ],
    }


def save_results(
    result: LiveResult,
    an: LiveAnalyzer,
    info: SourceInfo,
    record_path: Path | None,
    keep_record: bool,
    write_video: bool,
    log: Callable[[str], None],
) -> dict[str, str]:
    """Write the set's result files into ``result.out_dir``; returns ``{kind: file name}``.

    ``record_path``: the raw frames (deleted afterwards unless ``keep_record``)."""
    from formcheck.sinks.files import write_outputs

    out = writable_dir(result.out_dir)
    stem = result.stem
    analysis = result.analysis
    recorded = record_path is not None and record_path.exists()
    extra: dict[str, str] = {}
    src = record_path if recorded else info.path
    if write_video and src is not None:
        try:
            write_annotated(analysis, src, out / f"{stem}.annotated.mp4", an.n_frames)
            extra["annotated_video"] = f"{stem}.annotated.mp4"
        except FormcheckError as exc:
            log(f"warning: no annotated video ({exc})")
        try:  # each flagged rep's clip, as `analyze` writes them
            from formcheck.sinks.clips import write_rep_clips

            extra.update(write_rep_clips(analysis, src, out, stem))
        except FormcheckError as exc:
            log(f"warning: no rep clips ({exc})")
    atomic_write_text(out / f"{stem}.cues.json", json.dumps(cues_document(result, info), indent=2))
    extra["cues"] = f"{stem}.cues.json"
    if recorded and keep_record:
        extra["raw_video"] = os.path.relpath(record_path, out)
    files = write_outputs(analysis, out, video_path=None, write_video=False, stem=stem)
    files.pop("json", None)
    files.update(extra)
    analysis.session.files = files
    atomic_write_text(out / f"{stem}.json", analysis.session.to_json())
    files["json"] = f"{stem}.json"
    discard_recording(record_path, keep_record)
    return files


def discard_recording(record_path: Path | None, keep_record: bool) -> None:
    """Delete the raw frames recorded only for the annotated video."""
    if record_path is not None and not keep_record and record_path.exists():
        record_path.unlink()
