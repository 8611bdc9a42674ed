"""Result files for one analysed set, all written atomically (:mod:`formcheck.fsutil`).

``<stem>.json`` (session), ``<stem>.reps.csv``, ``<stem>.frames.csv`` (units in headers),
``<stem>.track.npz`` (pose track, for re-analysis without the model) and
``<stem>.annotated.mp4``; with the video, each flagged rep's clip and animation and the
best-vs-worst image too (:mod:`formcheck.sinks.clips`).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from formcheck.core.phases import PHASES
from formcheck.fsutil import atomic_write_text, writable_dir

if TYPE_CHECKING:
    from formcheck.analysis import Analysis

__all__ = [
    "REPS_COLUMNS",
    "FRAMES_COLUMNS",
    "estimate_output_bytes",
    "reps_csv",
    "frames_csv",
    "write_outputs",
]

#: Result bytes per frame besides the video: the track (landmarks, packed masks) and the
#: frames CSV; measured about 1.3 KB on the samples, doubled.
BYTES_PER_FRAME = 2_600
#: Annotated video bytes per pixel and frame (MPEG-4 part 2 as OpenCV writes it): measured
#: 0.012 on the samples, about 2.5 times that for busier real footage.
VIDEO_BYTES_PER_PIXEL = 0.03
#: Pixels of a rep clip's frame at most (:data:`formcheck.sinks.clips.CLIP_MAX_SIDE` 720 px
#: on the longer side of a 16:9 picture).
CLIP_PIXELS = 720 * 405

REPS_COLUMNS = (
    "index",
    "start_s",
    "top_start_s",
    "top_end_s",
    "end_s",
    "peak_angle_deg",
    "peak_angle_raw_deg",
    "hold_s",
    "lowering_s",
    "rising_s",
    "knee_angle_deg",
    "heel_rise_m",
    "lumbar_silhouette_deg",
    "complete",
    "counted_by",
    "faults",
)

FRAMES_COLUMNS = (
    "frame",
    "time_s",
    "detected",
    "phase",
    "rep",
    "shk_angle_deg",
    "shk_angle_raw_deg",
    "shk_angle_world_deg",
    "knee_angle_deg",
    "shin_to_vertical_deg",
    "torso_to_floor_deg",
    "heel_lift_m",
    "lumbar_silhouette_deg",
    "visibility",
    "load_x_px",
    "load_y_px",
)


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else f"{float(v):.4f}"
    return str(v)


def reps_csv(analysis: Analysis) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REPS_COLUMNS)
    for r in analysis.session.reps:
        w.writerow(
            [
                _fmt(v)
                for v in (
                    r.index,
                    r.start_s,
                    r.top_start_s,
                    r.top_end_s,
                    r.end_s,
                    r.peak_angle_deg,
                    r.peak_angle_raw_deg,
                    r.hold_s,
                    r.lowering_s,
                    r.rising_s,
                    r.knee_angle_deg,
                    r.heel_rise_m,
                    r.lumbar.silhouette_deg,
                    int(r.complete),
                    r.counted_by,
                )
            ]
            + [";".join(r.faults)]
        )
    return buf.getvalue()


def frames_csv(analysis: Analysis) -> str:
    f = analysis.frames
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FRAMES_COLUMNS)
    n = len(f["time_s"])
    cols = [f[c] for c in FRAMES_COLUMNS[5:]]
    for i in range(n):
        w.writerow(
            [
                i,
                f"{f['time_s'][i]:.4f}",
                int(f["detected"][i]),
                PHASES[int(f["phase"][i])],
                int(f["rep"][i]),
            ]
            + [_fmt(c[i]) for c in cols]
        )
    return buf.getvalue()


def estimate_output_bytes(frames: int, width: int, height: int, write_video: bool) -> int:
    """About how many bytes :func:`write_outputs` writes for a video of ``frames`` frames of
    ``width`` x ``height`` pixels (generous: used to refuse a folder that is too full)."""
    clip_px = min(width * height, CLIP_PIXELS)  # rep clips: at most every frame once more
    video = frames * (width * height + clip_px) * VIDEO_BYTES_PER_PIXEL if write_video else 0
    return int(1_000_000 + frames * BYTES_PER_FRAME + video)


def write_outputs(
    analysis: Analysis,
    out_dir: str | os.PathLike,
    *,
    video_path: str | os.PathLike | None = None,
    write_video: bool = True,
    write_track: bool = True,
    stem: str | None = None,
) -> dict[str, str]:
    """Write every result file for ``analysis`` into ``out_dir``; returns ``{kind: path}``."""
    out = writable_dir(out_dir, "output folder")
    src = video_path or analysis.session.video.path or "result"
    stem = stem or Path(str(src)).stem
    files: dict[str, str] = {}
    if write_track:
        analysis.track.save(out / f"{stem}.track.npz")
        files["track"] = f"{stem}.track.npz"
    atomic_write_text(out / f"{stem}.reps.csv", reps_csv(analysis))
    files["reps_csv"] = f"{stem}.reps.csv"
    atomic_write_text(out / f"{stem}.frames.csv", frames_csv(analysis))
    files["frames_csv"] = f"{stem}.frames.csv"
    if write_video and video_path is not None:
        from formcheck.sinks.annotate import write_annotated_video
        from formcheck.sinks.clips import write_rep_clips

        write_annotated_video(analysis, video_path, out / f"{stem}.annotated.mp4")
        files["annotated_video"] = f"{stem}.annotated.mp4"
        files.update(write_rep_clips(analysis, video_path, out, stem))
    elif (out / f"{stem}.track.npz").exists() and not write_track:
        files["track"] = f"{stem}.track.npz"
    analysis.session.files = files
    atomic_write_text(out / f"{stem}.json", analysis.session.to_json())  # last: marks done
    files["json"] = f"{stem}.json"
    return files
