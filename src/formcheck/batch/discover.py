"""Inputs and identity: which videos, under which settings, and what each one's key and stem are.

A video's *key* is the sha256 of its content hash plus every setting that shapes its result
(:meth:`Settings.identity`); its output *stem* is ``<file stem>-<10 hex of the content hash>``,
so two inputs with the same name in different folders never collide and a renamed or moved file
keeps its results.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from formcheck import __version__
from formcheck.batch.task import one_line
from formcheck.core.rules import EXERCISES
from formcheck.errors import InputError
from formcheck.hashing import settings_key, sha256_file
from formcheck.pose.video import VIDEO_SUFFIXES


def _is_within(p: Path, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        p.relative_to(root)
        return True
    except ValueError:
        return False


def _is_video(p: Path, exclude: Path | None) -> bool:
    return (
        p.suffix.lower() in VIDEO_SUFFIXES and p.is_file() and not _is_within(p.resolve(), exclude)
    )


def _videos_under(folder: Path, exclude: Path | None) -> list[Path]:
    return sorted(q for q in folder.rglob("*") if _is_video(q, exclude))


def _glob_videos(pattern: str, exclude: Path | None) -> list[Path]:
    matches = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
    if not matches:
        raise InputError(f"no files match {pattern!r}")
    items: list[Path] = []
    for m in map(Path, matches):
        if m.is_dir():
            items += _videos_under(m, exclude)
        elif _is_video(m, exclude):
            items.append(m)
    return items


def _expand(raw: str, exclude: Path | None) -> list[Path]:
    """The videos one input names: a folder's, a file itself, or a glob's."""
    p = Path(raw).expanduser()
    if p.is_dir():
        return _videos_under(p, exclude)
    if p.exists():
        return [p]
    if any(c in raw for c in "*?["):
        return _glob_videos(raw, exclude)
    raise InputError(f"input not found: {raw}")


def discover_inputs(
    inputs: Iterable[str | os.PathLike], exclude: str | os.PathLike | None = None
) -> list[Path]:
    """Videos named by ``inputs``: files (taken as given, whatever their suffix), folders
    (searched recursively for :data:`VIDEO_SUFFIXES`) and glob patterns (``**`` allowed).

    Files under ``exclude`` (the output folder) are skipped when searching. Raises
    :class:`InputError` for an input that does not exist or when no video is found.
    """
    excl = Path(exclude).expanduser().resolve() if exclude is not None else None
    found: list[Path] = []
    seen: set[Path] = set()
    inputs = [str(i) for i in inputs]
    if not inputs:
        raise InputError("give at least one INPUT (a video file, a folder or a glob)")
    for raw in inputs:
        for q in _expand(raw, excl):
            r = q.resolve()
            if r not in seen:
                seen.add(r)
                found.append(r)
    if not found:
        raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) found in {', '.join(inputs)}")
    return found


def safe_stem(name: str, limit: int = 60) -> str:
    """``name`` with anything but ``A-Za-z0-9._-`` replaced, at most ``limit`` characters."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "video"
    return s[:limit]


def output_stem(path: Path, video_sha256: str) -> str:
    """``<file stem>-<10 hex of the content hash>``: unique per content, stable across runs."""
    return f"{safe_stem(path.stem)}-{video_sha256[:10]}"


@dataclass
class Settings:
    """Everything that shapes a result, resolved and validated on the client."""

    exercise: str
    model_spec: str
    model_path: str
    model_sha256: str
    profile: dict
    config: str | None
    write_video: bool
    rotate: str = "auto"  # "auto" or a clockwise turn in degrees (analysis.check_turn)

    def identity(self) -> dict:
        """The part of the settings that goes into every video's key."""
        from formcheck.core.track import TRACK_FORMAT_VERSION
        from formcheck.pose.estimator import PoseOptions

        return {
            "formcheck_version": __version__,
            "exercise": self.exercise,
            "model_sha256": self.model_sha256,
            "profile": self.profile,
            "pose_options": asdict(PoseOptions()),
            "track_format": TRACK_FORMAT_VERSION,
            **({} if self.rotate == "auto" else {"rotate": self.rotate}),
        }


def resolve_settings(
    exercise: str,
    model: str,
    config: str | os.PathLike | None,
    write_video: bool = True,
    rotate: str | int = "auto",
) -> Settings:
    """Validate exercise, config, turn and model before any video work (user errors: exit
    2)."""
    from formcheck.core.rules import load_profile, resolve_exercise
    from formcheck.notes import check_turn
    from formcheck.pose.models import model_info, resolve_model

    exercise = resolve_exercise(exercise, config)
    if exercise == "auto":  # candidates, each with the config applied
        profile = {ex: load_profile(ex, config).to_dict() for ex in EXERCISES}
    else:
        profile = load_profile(exercise, config).to_dict()
    mpath = resolve_model(model)
    info = model_info(mpath)
    return Settings(
        exercise=exercise,
        model_spec=str(model),
        model_path=str(mpath),
        model_sha256=info["sha256"],
        profile=profile,
        config=None if config is None else str(config),
        write_video=write_video,
        rotate=str(check_turn(rotate)),
    )


@dataclass
class Job:
    """One input video on the client: where it is, what it is, and how its run went.

    ``size`` in bytes, ``mtime_ns`` in ns. ``error``: it failed before analysis (cannot read
    the file). ``crashes``: worker processes that died running it. ``duplicates``: other inputs
    with the same stem, which share this job's result.
    """

    path: Path
    display: str
    size: int = 0
    mtime_ns: int = 0
    video_sha256: str = ""
    stem: str = ""
    key: str = ""
    error: str | None = None
    crashes: int = 0
    duplicates: list[Job] = field(default_factory=list)


def display_path(p: Path) -> str:
    """``p`` relative to the working directory when it is under it, else absolute."""
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def _hash_job(p: Path, previous: dict[str, dict]) -> Job:
    job = Job(path=p, display=display_path(p))
    try:
        st = p.stat()
        job.size, job.mtime_ns = st.st_size, st.st_mtime_ns
        prev = previous.get(str(p))
        if (
            prev
            and prev.get("video_sha256")
            and prev.get("size") == st.st_size
            and prev.get("mtime_ns") == st.st_mtime_ns
        ):
            job.video_sha256 = prev["video_sha256"]  # unchanged file: no need to re-read
        else:
            job.video_sha256 = sha256_file(p)
    except OSError as exc:
        job.error = one_line(f"cannot read {job.display}: {exc.strerror or type(exc).__name__}")
    return job


def hash_jobs(
    paths: list[Path], previous: dict[str, dict], progress: Callable[[int], None] | None = None
) -> list[Job]:
    """A :class:`Job` per path with its size, mtime and content hash (taken from
    ``previous``, the last index's rows by absolute path, when size and mtime are unchanged)."""
    jobs = []
    for p in paths:
        jobs.append(_hash_job(p, previous))
        if progress:
            progress(1)
    return jobs


def identify(jobs: list[Job], identity: dict) -> None:
    """Set each readable job's stem and key (under ``identity``, see
    :meth:`Settings.identity`)."""
    for j in jobs:
        if not j.error:
            j.stem = output_stem(j.path, j.video_sha256)
            j.key = settings_key(j.video_sha256, identity)
