"""Result files under a folder, and the set record the review store keeps for each one.

What a set is filed under is derived here: its athlete (sidecar file, results folder or video
folder), its date (source video's modification day, else the result's) and its source video.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from formcheck.core.session import Session

#: Sidecar files naming the athlete of a set: ``<stem>.athlete.txt`` or ``athlete.txt`` beside it.
ATHLETE_SIDECARS = ("{stem}.athlete.txt", "athlete.txt")
UNASSIGNED = "unassigned"
#: Source-video folder names that do not name an athlete.
GENERIC_FOLDERS = {
    "samples",
    "sample",
    "videos",
    "video",
    "clips",
    "input",
    "inputs",
    "data",
    "raw",
    "uploads",
    "tmp",
    "temp",
    "downloads",
    "movies",
    "camera",
    "dcim",
    "runs",
    "results",
    "out",
    "output",
}
#: JSON files formcheck writes that are not analysis results.
NOT_RESULTS = (".label.json", ".review.json", ".schema.json", ".done.json")


def utc_now() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class FileStamp:
    """What tells a changed result file from an unchanged one: modification time (ns), size
    (bytes)."""

    mtime_ns: int | None
    size: int | None

    @classmethod
    def of(cls, path: str | os.PathLike) -> FileStamp:
        st = os.stat(path)
        return cls(st.st_mtime_ns, st.st_size)


def result_candidates(root: Path) -> Iterator[Path]:
    """JSON files under ``root`` that may be results (by name), sorted; hidden and temporary
    files (``.name``) are skipped."""
    for jp in sorted(root.rglob("*.json")):
        if not jp.name.startswith(".") and not jp.name.endswith(NOT_RESULTS):
            yield jp


def looks_like_result(p: Path) -> bool:
    """Whether ``p`` starts like a formcheck session result (reads its first 4 KiB)."""
    if p.name.endswith(NOT_RESULTS):
        return False
    try:
        with p.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return b'"formcheck.session"' in head


@dataclass
class SetRecord:
    """One row of the store's ``sets`` table, as imported from a result json."""

    key: str  # resolved path of the result json
    json_path: str
    base_dir: str  # folder holding the result files
    stem: str
    video_name: str
    video_path: str  # resolved source video, '' when it is not found
    athlete: str
    athlete_source: str  # sidecar | folder | video-folder | default (| edited, in the app)
    set_date: str  # YYYY-MM-DD
    exercise: str
    rep_count: int
    attempt_count: int
    fault_counts: str  # json {rule: n}
    camera_view: str
    camera_warning: str | None
    created_utc: str
    imported_utc: str
    session_json: str
    json_mtime_ns: int | None
    json_size: int | None


def set_record(
    session: Session,
    json_path: str | os.PathLike,
    root: str | os.PathLike | None,
    stamp: FileStamp | None,
    session_json: str | None = None,
) -> SetRecord:
    """The ``sets`` row for ``session`` read from ``json_path`` (athlete folders under
    ``root``); ``session_json``: the result as read, when it was (else the session's JSON)."""
    jp = Path(json_path).resolve()
    stem = jp.name[:-5] if jp.name.endswith(".json") else jp.stem
    video = source_video(session, jp.parent)
    athlete, source = derive_athlete(jp, root, video)
    stamp = stamp or FileStamp(None, None)
    return SetRecord(
        key=str(jp),
        json_path=str(jp),
        base_dir=str(jp.parent),
        stem=stem,
        video_name=str(session.video.name or Path(str(session.video.path or stem)).name),
        video_path=str(video or ""),
        athlete=athlete,
        athlete_source=source,
        set_date=set_date(session, video, jp),
        exercise=session.exercise,
        rep_count=session.rep_count,
        attempt_count=len(session.attempts),
        fault_counts=json.dumps(session.fault_counts()),
        camera_view=str(session.camera.view or ""),
        camera_warning=session.camera.warning,
        created_utc=session.created_utc or "",
        imported_utc=utc_now(),
        session_json=session_json or session.to_json(indent=None),
        json_mtime_ns=stamp.mtime_ns,
        json_size=stamp.size,
    )


def derive_athlete(
    json_path: Path, root: str | os.PathLike | None, video: str | os.PathLike | None = None
) -> tuple[str, str]:
    """The athlete of a set and where the name came from.

    A sidecar (``<stem>.athlete.txt`` or ``athlete.txt`` beside the result) wins; otherwise the
    first folder below ``root`` that holds the result (``runs/alice/set1.json`` -> ``alice``);
    otherwise the folder of the source video (``videos/alice/set1.mp4`` -> ``alice``) unless it
    is a generic name (:data:`GENERIC_FOLDERS`); otherwise ``unassigned``. Coaches can edit it
    in the review app.
    """
    name = _sidecar_athlete(json_path)
    if name:
        return name, "sidecar"
    if root is not None:
        try:
            rel = json_path.parent.resolve().relative_to(Path(root).resolve())
        except ValueError:
            rel = None
        if rel is not None and rel.parts:
            return rel.parts[0], "folder"
    if video is not None:
        folder = Path(video).parent.name
        if folder and folder.lower() not in GENERIC_FOLDERS:
            return folder, "video-folder"
    return UNASSIGNED, "default"


def _sidecar_athlete(json_path: Path) -> str:
    stem = json_path.name[:-5] if json_path.name.endswith(".json") else json_path.stem
    for pat in ATHLETE_SIDECARS:
        p = json_path.parent / pat.format(stem=stem)
        if p.is_file():
            try:
                name = " ".join(p.read_text("utf-8").split())[:200]
            except (OSError, UnicodeDecodeError):
                name = ""
            if name:
                return name
    return ""


def source_video(session: Session, base: Path) -> Path | None:
    """The set's source video, resolved, if it is found (as recorded, or beside the result)."""
    p = session.video.path
    if not p or p == "synthetic":
        return None
    cand = [Path(p)] if Path(p).is_absolute() else [Path(p), base / p, base / Path(p).name]
    for c in cand:
        if c.is_file():
            return c.resolve()
    return None


def set_date(session: Session, video: Path | None, json_path: Path) -> str:
    """The day of the set (YYYY-MM-DD): the source video's modification day, else the day of
    the result's ``created_utc``, else the result file's modification day."""
    if video is not None:
        try:
            return _dt.datetime.fromtimestamp(video.stat().st_mtime).date().isoformat()
        except OSError:
            pass
    if session.created_utc:
        return session.created_utc[:10]
    return _dt.datetime.fromtimestamp(json_path.stat().st_mtime).date().isoformat()
