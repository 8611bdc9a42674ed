"""The analysis: video → :class:`PoseTrack` → angles → reps → findings → :class:`Session`.

``analyze_track`` is pure (arrays in, result out) and is what tests, batch, live and re-analysis
from a saved ``.npz`` call; ``analyze_video`` adds decoding and the model. Neither writes a
file: callers write results with :func:`formcheck.sinks.files.write_outputs`.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from formcheck import __version__
from formcheck.core.bias import BiasModel, load_bias_model
from formcheck.core.geometry import Geometry
from formcheck.core.judge import rep_records
from formcheck.core.load import LOADED_HIP_CONFIDENCE
from formcheck.core.measures import heel_jumps
from formcheck.core.presence import NO_SETUP_NOTE
from formcheck.core.reps import relative_reps, segment
from formcheck.core.rules import EXERCISES, Profile, evaluate_set, load_profile, resolve_exercise
from formcheck.core.session import (
    Calibration,
    Camera,
    ExerciseCheckInfo,
    ModelMeta,
    Person,
    Session,
    VideoMeta,
)
from formcheck.core.setup_check import check_exercise, mismatch_warning
from formcheck.core.signals import DEFAULT_CUTOFF_HZ
from formcheck.core.silhouette import LUMBAR_MEASURES
from formcheck.core.track import PoseTrack
from formcheck.landmarks import prepare_landmarks
from formcheck.notes import (
    BAR_LEVEL_WARNING,
    LOAD_WARNING,
    LOST_WARNING,
    check_turn,
    load_info,
    read_meta,
    video_notes,
)
from formcheck.pose.circles import search_circles
from formcheck.pose.estimator import PoseEstimator, PoseOptions, track_from_frames
from formcheck.pose.models import model_info
from formcheck.pose.orientation import guess_turn, sample_frames
from formcheck.pose.rate import analysis_step
from formcheck.pose.segments import auto_workers, parallel_track
from formcheck.pose.video import VideoInfo, iter_frames, probe_video, read_shortfall, with_turn


@dataclass
class Analysis:
    """A :class:`Session` plus the per-frame series it was computed from (all ``(T,)``)."""

    session: Session
    track: PoseTrack
    geometry: Geometry
    xy: np.ndarray  # (T, 33, 2) smoothed pixel positions
    frames: dict[str, np.ndarray]


def analyze_track(
    track: PoseTrack,
    profile: Profile | str | dict = "hip_thrust",
    *,
    config: str | os.PathLike | dict | None = None,
    bias_model: BiasModel | None = None,
    cutoff_hz: float = DEFAULT_CUTOFF_HZ,
    video_meta: dict | None = None,
) -> Analysis:
    """Analyse a pose track with an exercise profile. Pure: no files, no model.

    ``profile``: a :class:`Profile`; an exercise name (loaded with ``config``); ``"auto"``; or
    a dict ``{exercise: Profile}`` of candidates. With ``"auto"`` or candidates the exercise is
    read from the set-up (:mod:`setup_check`), a hip thrust when it cannot be told (with a
    warning). Either way ``session.exercise_check`` says what the set-up looked like, and a
    set-up that contradicts a given exercise gets a warning.
    """
    profile = resolve_profile(profile, config)
    if isinstance(profile, Profile):
        return _analyze(track, profile, bias_model, cutoff_hz, video_meta, "given")
    first = _analyze(track, profile["hip_thrust"], bias_model, cutoff_hz, video_meta, "detected")
    looks = first.session.exercise_check.looks_like
    if looks is None or looks == "hip_thrust":
        set_up_seen = NO_SETUP_NOTE not in first.session.warnings
        if looks is None and first.session.person.detected and set_up_seen:
            first.session.warnings.append(
                "could not tell the exercise from the set-up; analysed as a hip thrust "
                "(pass --exercise glute_bridge if the shoulders are on the floor)"
            )
        return first
    return _analyze(track, profile[looks], bias_model, cutoff_hz, video_meta, "detected")


def _analyze(
    track: PoseTrack,
    profile: Profile,
    bias_model: BiasModel | None,
    cutoff_hz: float,
    video_meta: dict | None,
    exercise_source: str,
) -> Analysis:
    bias_model = bias_model or load_bias_model(profile.name)
    original = track  # as the model gave it
    lm = prepare_landmarks(original, profile, cutoff_hz, bias_model)
    track, xy, geom, ang, measured = lm.track, lm.xy, lm.geom, lm.ang, lm.measured
    setup = lm.setup
    t = track.t_s
    warnings = list(lm.warnings)
    load, shk = measured.load, measured.shk_deg
    bias_model, bias = measured.bias_model, measured.bias_deg
    thickness, midline = measured.thickness, measured.midline_deg
    if load.loaded:
        warnings.append(LOAD_WARNING)
    arch = (
        np.full(track.n_frames, np.nan)
        if load.loaded
        else LUMBAR_MEASURES[profile.rules.lumbar_arch.measure](
            xy, track.masks, track.mask_scale, geom
        )
    )
    heel_base = np.nanmedian(ang.heel_height_m) if np.isfinite(ang.heel_height_m).any() else 0.0
    heel_lift = ang.heel_height_m - heel_base  # per-frame, for the CSV and plots

    person = geom.view != "no_person"
    movements = (
        segment(t, shk, ang.torso_to_floor_deg, profile.reps, track.fps, setup.frames)
        if person
        else []
    )
    if measured.follows_load:  # the angle follows the weight: its rises are sure, its level not
        movements = relative_reps(movements)
    if not measured.level_known:
        warnings.append(LOST_WARNING)
    elif measured.follows == "bar":
        warnings.append(BAR_LEVEL_WARNING)
    to_raw = lambda a: bias_model.uncorrect(a, bias, geom.yaw_deg)  # noqa: E731
    jumped = heel_jumps(movements, ang.heel_height_m, ang.far_heel_height_m, track.fps)
    rep_recs, attempt_recs = rep_records(
        movements,
        t,
        to_raw,
        ang,
        arch,
        geom,
        profile,
        track.fps,
        bias_model.residual_sd_deg,
        jumped,
        LOADED_HIP_CONFIDENCE if load.loaded else 1.0,
        measured.level_known,
    )
    reps = [m for m in movements if m.is_rep]
    n_jumped = sum(j for j, m in zip(jumped, movements) if m.is_rep)
    if n_jumped:
        warnings.append(
            f"the near heel landmark jumped to the far foot in {n_jumped} rep"
            f"{'s' if n_jumped > 1 else ''}: heel lift not measured there"
        )
    bottoms = np.array([f for m in movements for f in (m.start, m.end)], int)
    check = check_exercise(xy, geom.side, geom.up, bottoms, hip_hidden=load.loaded)
    mismatch = mismatch_warning(check, profile.name) if exercise_source == "given" else None
    if mismatch:
        warnings.append(mismatch)
    set_findings = evaluate_set(len(reps), profile) if person and setup.found else []
    if person and not setup.found:
        warnings.append(NO_SETUP_NOTE)
    elif person and not reps:
        warnings.append("no reps found")

    phase = np.zeros(track.n_frames, np.int8)  # 0 none
    phase[track.detected] = 1
    rep_idx = np.zeros(track.n_frames, np.int32)
    for r, m in zip(rep_recs, reps):
        phase[m.start : m.top_start] = 2
        phase[m.top_start : m.top_end + 1] = 3
        phase[m.top_end + 1 : m.end + 1] = 4
        rep_idx[m.start : m.end + 1] = r.index
    frames = {
        "time_s": t,
        "detected": track.detected.astype(np.int8),
        "phase": phase,
        "rep": rep_idx,
        "shk_angle_deg": shk,
        "shk_angle_raw_deg": ang.shk_raw_deg,
        "shk_angle_world_deg": ang.shk_world_deg,
        "knee_angle_deg": ang.knee_deg,
        "shin_to_vertical_deg": ang.shin_to_vertical_deg,
        "torso_to_floor_deg": ang.torso_to_floor_deg,
        "heel_lift_m": heel_lift,
        "lumbar_silhouette_deg": arch,
        "load_x_px": load.centre_px[:, 0],
        "load_y_px": load.centre_px[:, 1],
        "visibility": ang.visibility,
    }
    meta = track.meta
    video = VideoMeta.from_dict(
        {
            "path": meta.get("source"),
            "width": track.width,
            "height": track.height,
            "fps": track.fps,
            "frames": track.n_frames,  # what was read and analysed
            "duration_s": track.duration_s,
            **read_meta(meta),
            **(video_meta or {}),
        }
    )
    if meta.get("read_shortfall"):
        warnings.insert(0, str(meta["read_shortfall"]))
    warnings.extend(video_notes(video, meta, t))
    floor_deg = math.degrees(math.atan2(geom.floor_dir[1], geom.floor_dir[0]))
    session = Session(
        video=video,
        model=ModelMeta(
            path=meta.get("model"),
            name=Path(str(meta.get("model", ""))).name,
            sha256=meta.get("model_sha256"),
        ),
        exercise=profile.name,
        camera=Camera(
            side=geom.side,
            side_confidence=geom.side_confidence,
            view=geom.view,
            yaw_deg=geom.yaw_deg,
            warning=lm.view_warning,
            floor_source=geom.floor_source,
            floor_angle_deg=floor_deg,
            m_per_px=geom.m_per_px,
        ),
        person=Person(detected=person, detected_share=geom.detected_share),
        exercise_check=ExerciseCheckInfo(**check.to_dict(), source=exercise_source),
        load_info=load_info(load, measured.follows),
        reps=rep_recs,
        attempts=attempt_recs,
        set_findings=set_findings,
        warnings=warnings,
        profile=profile,
        calibration=Calibration(
            bias_deg=bias,
            bias_model=bias_model.source,
            world_weight=bias_model.world_weight,
            trunk_thickness=thickness,
            midline_bias_deg=midline,
            cutoff_hz=cutoff_hz,
        ),
        formcheck_version=__version__,
        created_utc=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
    return Analysis(session, original, geom, xy, frames)


def resolve_profile(
    exercise: Profile | str | dict, config: str | os.PathLike | dict | None = None
) -> Profile | dict:
    """A :class:`Profile` for an exercise name, or for ``"auto"`` the candidate profiles
    ``{exercise: Profile}`` (``config`` applied to each, so a bad config fails before any
    video work). A Profile or a dict of them passes through."""
    if isinstance(exercise, (Profile, dict)):
        return exercise
    name = resolve_exercise(exercise, config)
    if name != "auto":
        return load_profile(name, config)
    return {ex: load_profile(ex, config) for ex in EXERCISES}


def analyze_video(
    video: str | os.PathLike,
    *,
    exercise: str | Profile | dict = "hip_thrust",
    model: str | os.PathLike | None = "full",
    config: str | os.PathLike | dict | None = None,
    pose_options: PoseOptions | None = None,
    progress: Callable[[int], None] | None = None,
    estimator: PoseEstimator | None = None,
    source_path: str | None = None,
    info: VideoInfo | None = None,
    rotate: int | str = "auto",
    step: int | None = None,
    workers: int | str = "auto",
) -> Analysis:
    """Analyse one video file (runs the pose model; writes nothing).

    ``exercise``: ``"hip_thrust"``, ``"glute_bridge"``, ``"auto"`` (read from the set-up) or
    what :func:`resolve_profile` returns. ``estimator``: reuse a loaded :class:`PoseEstimator`
    (it is :meth:`~PoseEstimator.reset` first), e.g. one per batch worker. ``source_path``: the
    name to record for the video when ``video`` is a temporary copy (e.g. on a cluster worker).
    ``info``: the video's :class:`VideoInfo` if the caller has already probed it.
    ``rotate``: turn the picture clockwise by 0, 90, 180 or 270 degrees before the model
    (after the file's own rotation tag), or ``"auto"``: turned when it is on its side or
    upside down (:mod:`formcheck.pose.orientation`; said in the result).
    ``step``: run the model on every ``step``-th frame only, the others interpolated
    (:mod:`formcheck.pose.rate`; :func:`~formcheck.pose.rate.analysis_step` picks it; None:
    its default, every frame up to 30 fps).
    ``workers``: processes running the model on this one video (:mod:`formcheck.pose.segments`;
    ``"auto"``: 2 on a multi-core machine for a video of 12 s or more); 1 with ``estimator``
    given (a batch already keeps every core busy with one video each).
    """
    profile = resolve_profile(exercise, config)  # a bad config fails before the slow part
    info = info or probe_video(video)
    turn = check_turn(rotate)
    own = estimator is None
    est = PoseEstimator(model, pose_options) if own else estimator
    try:
        source_turn = "given"
        if turn == "auto":
            guess = guess_turn(sample_frames(info), est)
            turn, source_turn = guess.turn_deg, "auto"
            if not guess.sure and guess.lying and max(guess.scores.values()) > 0:
                source_turn = "unsure"  # someone there, shins not up as stored nor turned
        info = with_turn(info, int(turn))
        step = analysis_step(info.fps) if step is None else step
        est.reset()
        n_proc = (auto_workers(info) if workers == "auto" else int(workers)) if own else 1
        if n_proc > 1:  # both cores on this video (pose.segments)
            track = parallel_track(est, video, info, n_proc, progress, step)
        else:
            frames = iter_frames(video, info, step=step)
            track = track_from_frames(est, frames, info, progress, step)
    finally:
        if own:
            est.close()
    track.meta["turn_deg"], track.meta["turn_source"] = info.turn_deg, source_turn
    # a file cut short or damaged: InputError when too little was read, else a warning
    track.meta["read_shortfall"] = read_shortfall(info, track.n_frames)
    source = str(source_path or video)
    track.meta["source"] = source
    declared = {k: v for k, v in info.to_dict().items() if k not in ("duration_s", "frames")}
    meta = {**declared, "path": source, "name": Path(source).name}
    analysis = analyze_track(track, profile, video_meta=meta)
    every = (pose_options or est.options).circles_every
    if every and track.circles is None and analysis.session.load_info.kind != "none":
        # a weight on the hips: the picture read again for a barbell plate's rim
        circles = search_circles(video, info, track.detected, every, step)
        track = replace(track, circles=circles)
        analysis = analyze_track(track, profile, video_meta=meta)
    mi = model_info(track.meta["model"]) if track.meta.get("model") else {}
    model_meta(analysis.session, mi)
    return analysis


def model_meta(session: Session, info: dict) -> None:
    """Record the pose model's registry name and SHA-256 (``pose.models.model_info``)."""
    session.model.name = info.get("name", session.model.name)
    session.model.sha256 = info.get("sha256", session.model.sha256)


def reanalyze(
    track_path: str | os.PathLike,
    *,
    exercise: str | Profile | dict = "hip_thrust",
    config: str | os.PathLike | dict | None = None,
) -> Analysis:
    """Analyse a saved track ``.npz`` again (new thresholds, no model run); ``exercise`` as in
    :func:`analyze_video`. Writes nothing."""
    return analyze_track(PoseTrack.from_npz(track_path), resolve_profile(exercise, config))
