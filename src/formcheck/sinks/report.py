"""A self-contained HTML report of one analysed set (``formcheck report RESULT.json``).

One file that works offline: no scripts or styles from elsewhere, the angle plot, the rep
thumbnails (a flagged rep's animated WebP, :mod:`formcheck.sinks.clips`) and the best-vs-worst
image embedded as base64. A flagged rep's "share this rep" link downloads its clip: a relative
link, the report sitting beside the results. All text is HTML-escaped (Jinja2 autoescape).
The form score is defined in ``docs/review.md`` (see :mod:`formcheck.sinks.scoring`), the
angle plot is drawn by :mod:`formcheck.sinks.plots`; the ``report`` command is
:mod:`formcheck.cli.report`.
"""

from __future__ import annotations

import base64
import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.core.rules import RULE_IDS, RULES
from formcheck.core.session import Session
from formcheck.fsutil import atomic_write_text
from formcheck.sinks.clips import BEST_WORST_KIND, rep_clip_files, top_frame
from formcheck.sinks.plots import PLOT_AXES, angle_plot_png, band, load_path_png
from formcheck.sinks.rep_rows import clean_summary, heel_words, rep_measures
from formcheck.sinks.reviewed import reviewed_fault_counts, verdict_words
from formcheck.sinks.scoring import (
    RULE_WEIGHTS,
    counted_faults,
    form_score,
    normalize_reviews,
    rep_score,
)
from formcheck.sinks.thumbs import person_box, portrait_band

#: Each rule's title in the report and the review app (from the rule registry).
RULE_TITLES = {r.id: r.title for r in RULES}


# -- data files ------------------------------------------------------------------------------
def result_files(
    session: Session, base_dir: str | os.PathLike | None, root: str | os.PathLike | None = None
) -> dict[str, Path | None]:
    """Where the set's frames CSV, annotated video and source video are (None if missing).
    ``root``: only files that are inside this folder once links are resolved (the review app's
    served folder)."""
    base = Path(base_dir) if base_dir is not None else None
    files = session.files or {}
    out: dict[str, Path | None] = {
        "frames_csv": None,
        "annotated_video": None,
        "video": None,
        "track": None,
    }
    if base is not None:
        for kind in ("frames_csv", "annotated_video", "track"):
            name = files.get(kind)
            if name and (base / Path(name).name).is_file():
                out[kind] = base / Path(name).name
    src = session.video.path
    if src and src != "synthetic":
        cands = [Path(src)]
        if base is not None and not Path(src).is_absolute():
            cands += [base / src, base / Path(src).name]
        out["video"] = next((c for c in cands if c.is_file()), None)
    if root is not None:
        top = Path(root).resolve()
        out = {k: p if p is not None and _inside(p, top) else None for k, p in out.items()}
    return out


def _inside(p: Path, top: Path) -> bool:
    try:
        return p.resolve(strict=True).is_relative_to(top)
    except (OSError, RuntimeError):
        return False


#: The frames-CSV columns the report reads (seconds, degrees, image pixels).
FRAME_SERIES = ("shk_angle_deg", "load_x_px", "load_y_px")


def load_frames(csv_path: str | os.PathLike | None) -> dict[str, np.ndarray] | None:
    """``time_s`` and the :data:`FRAME_SERIES` (NaN where empty or absent) from a
    ``<stem>.frames.csv``."""
    if csv_path is None or not Path(csv_path).is_file():
        return None
    t: list[float] = []
    cols: dict[str, list[float]] = {k: [] for k in FRAME_SERIES}
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                t.append(float(row["time_s"]))
            except (KeyError, TypeError, ValueError):
                continue
            for k, vals in cols.items():
                try:
                    vals.append(float(row.get(k) or "nan"))
                except ValueError:
                    vals.append(float("nan"))
    if not t:
        return None
    return {"time_s": np.asarray(t), **{k: np.asarray(v) for k, v in cols.items()}}


# -- images ----------------------------------------------------------------------------------
def grab_frame(
    video: str | os.PathLike | None,
    frame_index: int,
    max_width: int = 360,
    track: str | os.PathLike | None = None,
):
    """One frame (BGR, at most ``max_width`` wide) from a video with OpenCV, or None. With
    the set's ``track`` a portrait frame is cut to the band around the body
    (:mod:`formcheck.sinks.thumbs`)."""
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
    band = portrait_band(frame.shape[1], frame.shape[0], person_box(track, frame_index))
    if band is not None:
        frame = frame[band[1] : band[3], band[0] : band[2]]
    h, w = frame.shape[:2]
    if w > max_width:
        frame = cv2.resize(
            frame, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA
        )
    return frame


def jpeg_b64(frame) -> str | None:
    """``frame`` (BGR) as base64 JPEG text (quality 80), or None."""
    if frame is None:
        return None
    import cv2

    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else None


#: The frame shown for a rep (the peak of a sag/hyperextension finding, else mid-top).
thumb_frame = top_frame

#: Animated WebPs larger than this (bytes) are not embedded: the card keeps its JPEG.
EMBED_ANIM_MAX_BYTES = 400_000


def rep_media(
    session: Session, base_dir: str | os.PathLike | None, root: str | os.PathLike | None = None
) -> tuple[dict[int, dict[str, Path]], Path | None]:
    """The set's rep clips and animations that are there (``{rep: {"clip": path, "anim":
    path}}``) and its best-vs-worst image (or None); only files in ``base_dir`` itself (and
    inside ``root`` once links are resolved) under the names the result lists."""
    if base_dir is None:
        return {}, None
    base = Path(base_dir)
    top = Path(root).resolve() if root is not None else None

    def there(name: str | None) -> Path | None:
        if not name or Path(name).name != name:
            return None
        p = base / name
        ok = p.is_file() and (top is None or _inside(p, top))
        return p if ok else None

    clips: dict[int, dict[str, Path]] = {}
    for idx, names in rep_clip_files(session.files).items():
        found = {k: p for k, n in names.items() if (p := there(n)) is not None}
        if found:
            clips[idx] = found
    return clips, there((session.files or {}).get(BEST_WORST_KIND))


def _b64_file(p: Path | None, max_bytes: int = EMBED_ANIM_MAX_BYTES) -> str | None:
    try:
        data = p.read_bytes() if p is not None and p.stat().st_size <= max_bytes else None
    except OSError:
        data = None
    return base64.b64encode(data).decode("ascii") if data else None


# -- HTML ------------------------------------------------------------------------------------
#: The report's Jinja2 template (``templates/report.html``, autoescaped).
REPORT_TEMPLATE = (Path(__file__).parent / "templates" / "report.html").read_text(encoding="utf-8")


def _env():
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _finding_view(f, rep_idx: int, rv: dict) -> dict:
    return dict(
        rule=f.rule,
        title=RULE_TITLES.get(f.rule, f.rule),
        severity=f.severity,
        message=f.message,
        cue=f.cue,
        confidence=f.confidence,
        review=_review_view(rv.get((rep_idx, f.rule))),
    )


def _review_view(review: dict | None) -> dict | None:
    """A review with its verdict in words (``overruled by coach``), or None."""
    return None if review is None else {**review, "words": verdict_words(review.get("verdict"))}


def render_report(
    session: Session,
    base_dir: str | os.PathLike | None = None,
    reviews: Any = None,
    athlete: str | None = None,
    date: str | None = None,
    title: str | None = None,
    root: str | os.PathLike | None = None,
    clip_url: str | None = None,
) -> str:
    """The report HTML (a string); see :func:`write_report`. ``root``: read videos and the
    frames CSV only from inside this folder. ``clip_url``: where a rep's clip is downloaded,
    ``{n}`` standing for the rep index (the review app's route); None: its file name."""
    from formcheck import __version__

    rv = normalize_reviews(reviews)
    files = result_files(session, base_dir, root=root)
    frames = load_frames(files["frames_csv"])
    plot = base64.b64encode(angle_plot_png(session, frames, rv)).decode("ascii")
    path_png = load_path_png(session, frames)
    load_plot = base64.b64encode(path_png).decode("ascii") if path_png else None
    video = files["annotated_video"] or files["video"]
    clips, best_worst = rep_media(session, base_dir, root)
    reps = []
    for r in session.reps:
        clip = clips.get(r.index, {})
        anim = _b64_file(clip.get("anim")) if r.findings else None
        thumb = None
        if video is not None and anim is None:
            thumb = jpeg_b64(grab_frame(video, thumb_frame(r), track=files["track"]))
        href = None
        if "clip" in clip:
            href = clip_url.format(n=r.index) if clip_url else clip["clip"].name
        reps.append(
            dict(
                index=r.index,
                faults=counted_faults(r, rv),
                thumb=thumb,
                anim=anim,
                clip_href=href,
                span=f"{r.start_s:.1f}–{r.end_s:.1f} s",
                measures=rep_measures(r, session),
                findings=[_finding_view(f, r.index, rv) for f in r.findings],
            )
        )
    counts = reviewed_fault_counts(session, rv)  # what the coach overruled is not counted
    sev = {f.rule: f.severity for r in session.reps for f in r.findings}
    sev.update({f.rule: f.severity for f in session.set_findings})
    cues = {r.id: r.cue(session.profile) for r in RULES}
    order = [k for k in RULE_IDS if k in counts] + sorted(k for k in counts if k not in RULE_IDS)
    fault_rows = [
        dict(
            title=RULE_TITLES.get(k, k),
            count=counts[k],
            severity=sev.get(k, ""),
            cue=cues.get(k, ""),
        )
        for k in order
    ]
    score = form_score(session, rv)
    auto_score = form_score(session)
    n_findings = sum(len(r.findings) for r in session.reps) + len(session.set_findings)
    exercise = session.profile.exercise.title or session.exercise
    name = title or str(session.video.name or Path(str(session.video.path or "set")).name)
    lo, hi = band(session)
    return (
        _env()
        .from_string(REPORT_TEMPLATE)
        .render(
            title=name,
            exercise_title=exercise,
            athlete=athlete,
            date=date,
            created=(session.created_utc or "")[:16].replace("T", " "),
            version=session.formcheck_version or __version__,
            camera_warning=session.camera.warning,
            warnings=session.warnings,
            rep_count=session.rep_count,
            attempts=len(session.attempts),
            clean=sum(1 for r in reps if not r["faults"]),
            score_text="–" if score is None else f"{score:.0f}",
            auto_score_text="–" if auto_score is None else f"{auto_score:.0f}",
            reviewed=bool(rv),
            n_reviewed=len(rv),
            n_findings=n_findings,
            n_overruled=sum(1 for v in rv.values() if v.get("verdict") == "overrule"),
            fault_rows=fault_rows,
            plot=plot,
            load_plot=load_plot,
            best_worst=_b64_file(best_worst, 2_000_000),
            band_lo=f"{lo:.0f}",
            band_hi=f"{hi:.0f}",
            set_findings=[_finding_view(f, 0, rv) for f in session.set_findings],
            reps=reps,
            flagged=[r for r in reps if r["findings"]],
            clean_reps=[r for r in reps if not r["findings"]],
            clean_line=clean_summary([r["index"] for r in reps if not r["findings"]]),
        )
    )


def write_report(
    session: Session,
    html_path: str | os.PathLike,
    base_dir: str | os.PathLike | None = None,
    reviews: Any = None,
    **kw,
) -> Path:
    """Write the self-contained HTML report of ``session`` to ``html_path``.

    ``base_dir`` is the folder with the result files (frames CSV, annotated video); ``reviews``
    (see :func:`normalize_reviews`) adds the coach's verdicts and notes.
    """
    out = Path(html_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out, render_report(session, base_dir, reviews, **kw))


# The review app (views, media, routes) and the tests import these from here.
__all__ = [
    "write_report",
    "render_report",
    "form_score",
    "angle_plot_png",
    "PLOT_AXES",
    "RULE_TITLES",
    "RULE_WEIGHTS",
    "band",
    "clean_summary",
    "counted_faults",
    "grab_frame",
    "heel_words",
    "jpeg_b64",
    "load_frames",
    "normalize_reviews",
    "rep_measures",
    "rep_media",
    "rep_score",
    "result_files",
    "thumb_frame",
]
