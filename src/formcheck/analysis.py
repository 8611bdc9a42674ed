"""The file pipeline: video → :class:`PoseTrack` → angles → reps → findings → :class:`Session`.

``analyze_track`` is pure (arrays in, result out) and is what tests, batch, live and re-analysis
from a saved ``.npz`` call; ``analyze_video`` adds decoding, the model and output files.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from formcheck import __version__
from formcheck.core.bias import BiasModel, load_bias_model
from formcheck.core.kinematics import (LUMBAR_MEASURES, Angles, Geometry, estimate_geometry,
                         implausible_frames, joint_angles, midline_bias, trunk_thickness)
from formcheck.pose.models import model_info
from formcheck.pose.estimator import PoseEstimator, PoseOptions, extract_track, track_from_frames
from formcheck.core.reps import Movement, segment
from formcheck.core.rules import (EXERCISES, Profile, evaluate_rep, evaluate_set, load_profile,
                    resolve_exercise)
from formcheck.core.session import Rep, Session
from formcheck.core.setup_check import check_exercise, mismatch_warning
from formcheck.core.signals import DEFAULT_CUTOFF_HZ, smooth_track_xy
from formcheck.core.track import PoseTrack
from formcheck.pose.video import VideoInfo, iter_frames, probe_video

PHASES = ("none", "bottom", "rise", "top", "lowering")


@dataclass
class Analysis:
    """A :class:`Session` plus the per-frame series it was computed from (all ``(T,)``)."""

    session: Session
    track: PoseTrack
    geometry: Geometry
    xy: np.ndarray  # (T, 33, 2) smoothed pixel positions
    frames: dict[str, np.ndarray]


def view_warning(geom: Geometry) -> str | None:
    if geom.view == "no_person":
        return "no person detected in the video"
    # the view reading grows with the camera's yaw and, more, with its height (docs/method.md):
    # a side camera looking down from 1.2-1.6 m reads 30-40 deg
    if geom.view == "frontal":
        return (f"camera looks frontal or from above (about {geom.yaw_deg:.0f} deg from a level "
                "side view): sagittal angles are unreliable; film from the side with the camera "
                "at about hip height")
    if geom.view == "oblique":
        return (f"camera is oblique or high (about {geom.yaw_deg:.0f} deg from a level side "
                "view): angles are less reliable; film from the side with the camera at about "
                "hip height")
    return None


def top_frames(raw_deg: np.ndarray, max_frames: int = 300) -> np.ndarray:
    """Frames near the tops of the set (raw angle in its upper fifth), at most ``max_frames``."""
    ok = np.isfinite(raw_deg)
    if ok.sum() < 3:
        return np.array([], int)
    lo, hi = np.percentile(raw_deg[ok], [5, 98])
    idx = np.flatnonzero(ok & (raw_deg >= hi - 0.2 * (hi - lo)))
    return idx[:: max(1, len(idx) // max_frames)]


def confidence(geom: Geometry) -> float:
    """How far to trust sagittal angles, from the estimated yaw: 1 side-on, 0 at 60 deg."""
    if not math.isfinite(geom.yaw_deg):
        return 0.0
    return float(np.clip(1.0 - geom.yaw_deg / 60.0, 0.0, 1.0))


#: Largest per-set heel shift (metres) taken as the landmark's own drift and subtracted.
HEEL_COMMON_MAX_M = 0.025


def raw_heel_rises(movements: list[Movement], heel_height_m: np.ndarray,
                   fps: float) -> list[tuple[float | None, int | None]]:
    """Each movement's raw heel rise (metres) and the frame where it peaks: the heel's height
    at the top (90th percentile) minus its median in the 0.6 s before the movement starts.
    ``(None, None)`` where either is unknown."""
    raw: list[tuple[float | None, int | None]] = []
    pre_n = max(1, int(round(0.6 * fps)))
    for mv in movements:
        top = heel_height_m[mv.top_start:mv.top_end + 1]
        pre = heel_height_m[max(0, mv.start - pre_n):mv.start + 1]
        if not (np.isfinite(top).any() and np.isfinite(pre).any()):
            raw.append((None, None))
            continue
        raw.append((float(np.nanpercentile(top, 90) - np.nanmedian(pre)),
                    mv.top_start + int(np.nanargmax(top))))
    return raw


def heel_common_shift(deltas: list[float], min_reps: int = 3,
                      max_common_m: float = HEEL_COMMON_MAX_M) -> float | None:
    """The shift every rep's heel landmark shows (metres): the median of the reps' raw rises,
    capped at ``max_common_m``; None with fewer than ``min_reps`` reps."""
    return min(float(np.median(deltas)), max_common_m) if len(deltas) >= min_reps else None


#: A heel landmark that ends a rise at (or above) the far heel's height, when the two were at
#: least this far apart (metres, along the floor normal) before it, jumped to the far foot.
HEEL_JUMP_MIN_SEPARATION_M = 0.10


def heel_jumps(movements: list[Movement], heel_height_m: np.ndarray,
               far_heel_height_m: np.ndarray | None, fps: float) -> list[bool]:
    """For each movement, whether the near heel landmark jumped to the far foot at the top.

    MediaPipe sometimes moves the near leg's landmarks onto the far leg in oblique views. Seen
    from above or at an angle, the far heel sits higher in the image than the near one. A jump:
    the two were at least ``HEEL_JUMP_MIN_SEPARATION_M`` apart along the floor normal before the
    rise, and the near heel itself rose by at least 80 % of that (so 8 cm or more) to end within
    20 % of it from the far heel's height. No heel lift with the ball of the foot down rises
    that far onto the other heel's height; a landmark jump does (docs/accuracy.md). In a side
    view (heels one over the other) a jump changes nothing and is not looked for."""
    if far_heel_height_m is None:
        return [False] * len(movements)
    sep = far_heel_height_m - heel_height_m  # metres; > 0: the far heel appears higher
    rises = raw_heel_rises(movements, heel_height_m, fps)
    pre_n = max(1, int(round(0.6 * fps)))
    out = []
    for mv, (rise, _) in zip(movements, rises):
        pre = sep[max(0, mv.start - pre_n):mv.start + 1]
        top = sep[mv.top_start:mv.top_end + 1]
        if rise is None or not (np.isfinite(pre).any() and np.isfinite(top).any()):
            out.append(False)
            continue
        out.append(is_heel_jump(float(np.nanmedian(pre)), rise, float(np.nanmedian(top))))
    return out


def is_heel_jump(sep_before_m: float, rise_m: float, sep_now_m: float) -> bool:
    """The test of :func:`heel_jumps` for one rise: far-minus-near heel height before it and
    now, and the near heel's rise (metres)."""
    return (sep_before_m >= HEEL_JUMP_MIN_SEPARATION_M and rise_m >= 0.8 * sep_before_m
            and sep_now_m <= 0.2 * sep_before_m)


def heel_rises(movements: list[Movement], heel_height_m: np.ndarray, fps: float,
               min_reps: int = 3,
               max_common_m: float = HEEL_COMMON_MAX_M,
               jumped: list[bool] | None = None) -> list[tuple[float | None, int | None]]:
    """Heel rise of each movement (metres) and the frame where it peaks.

    A movement's raw rise is :func:`raw_heel_rises`. MediaPipe's heel landmark also shifts with
    the shin's rotation, the same way in every rep, so with at least ``min_reps`` reps the set's
    median raw rise, capped at ``max_common_m``, is subtracted: what remains is what this rep's
    heels did differently (and, past the cap, a lift that every rep of the set shows).
    Movements marked in ``jumped`` (:func:`heel_jumps`) get ``(None, None)``: not measured.
    """
    raw = raw_heel_rises(movements, heel_height_m, fps)
    if jumped is not None:
        raw = [(None, None) if j else r for r, j in zip(raw, jumped)]
    deltas = [d for (d, _), mv in zip(raw, movements) if d is not None and mv.is_rep]
    common = heel_common_shift(deltas, min_reps, max_common_m) or 0.0
    return [(None if d is None else d - common, f) for d, f in raw]


def top_arch(mv: Movement, arch: np.ndarray, geom: Geometry) -> tuple[float | None, float]:
    """A movement's silhouette bend (median over its top phase, degrees) and its confidence."""
    a_top = arch[mv.top_start:mv.top_end + 1]
    if not np.isfinite(a_top).any():
        return None, 0.0
    return float(np.nanmedian(a_top)), confidence(geom) * float(np.isfinite(a_top).mean())


def on_the_line(peak_deg: float, profile: Profile) -> bool:
    """True if a top at ``peak_deg`` (corrected) is neither a sag nor a hyperextension."""
    return profile.rule("sag")["min_peak_deg"] <= peak_deg <= \
        profile.rule("hyperextension")["max_peak_deg"]


def arch_baseline(values: list[tuple[float | None, float]], min_confidence: float,
                  kind: str = "least") -> tuple[float | None, int, float | None]:
    """The athlete's own lumbar baseline from ``(silhouette measure, confidence)`` pairs of the
    reps with the hips on the line (the caller picks those): ``(baseline, n, least)``, where
    ``n`` counts the reps with a usable estimate and ``least`` is the smallest of them.
    ``kind`` (a profile's ``rules.lumbar_arch.baseline``): ``"least"``, the baseline is that
    smallest value; ``"lower_half"``, the mean of the ``ceil(n / 2)`` smallest (the least of
    1-2 reps), so that rep-to-rep noise does not pull the baseline down as a set grows (the
    least of 12 reps lies about 1.6 SD under their mean)."""
    ok = sorted(a for a, c in values if a is not None and c >= min_confidence)
    if not ok:
        return None, 0, None
    low = ok[:math.ceil(len(ok) / 2)] if kind == "lower_half" else ok[:1]
    return float(sum(low) / len(low)), len(ok), ok[0]


def _rep_record(i: int, mv: Movement, t: np.ndarray, shk: np.ndarray, to_raw,
                ang: Angles, heel_rise: tuple, rep_arch: tuple[float | None, float],
                geom: Geometry, profile: Profile, with_findings: bool,
                arch_set: tuple[float | None, int, float | None] = (None, 0, None),
                angle_sd_deg: float = float("nan")) -> Rep:
    top = slice(mv.top_start, mv.top_end + 1)
    knee = float(np.nanmedian(ang.knee_deg[top])) if np.isfinite(ang.knee_deg[top]).any() \
        else None
    heel, heel_frame = heel_rise
    arch_deg, arch_conf = rep_arch  # top_arch(mv, ...)
    conf = confidence(geom)
    lumbar = {
        "angle_estimate_deg": max(0.0, mv.peak_angle_deg - 180.0),
        "silhouette_measure": profile.rule("lumbar_arch")["measure"],
        "silhouette_deg": arch_deg,
        "silhouette_confidence": round(arch_conf, 3),
        "silhouette_set_baseline_deg": arch_set[0],
        "silhouette_set_min_deg": arch_set[2],
        "silhouette_set_reps": arch_set[1],
        "angle_confidence": round(conf, 3),
        "used": "silhouette" if arch_deg is not None else "angle",
    }
    dt = float(t[1] - t[0]) if len(t) > 1 else 1.0
    ts = lambda f: float(t[0] + f * dt)  # noqa: E731  fractional frame -> seconds
    m = dict(peak_angle_deg=mv.peak_angle_deg, peak_time_s=float(t[mv.peak_frame]),
             peak_frame=mv.peak_frame, hold_s=(mv.top_end_f - mv.top_start_f) * dt,
             lowering_s=(mv.end_f - mv.top_end_f) * dt,
             top_start_s=ts(mv.top_start_f), top_start_frame=mv.top_start,
             top_end_s=ts(mv.top_end_f), top_end_frame=mv.top_end, complete=mv.complete,
             heel_rise_m=heel, heel_time_s=None if heel_frame is None else float(t[heel_frame]),
             heel_frame=heel_frame, heel_confidence=conf, knee_angle_deg=knee,
             arch_sil_deg=arch_deg, arch_confidence=arch_conf, angle_confidence=conf,
             arch_set_base_deg=arch_set[0], arch_set_reps=arch_set[1],
             angle_sd_deg=angle_sd_deg)
    findings = evaluate_rep(m, profile) if with_findings else []
    return Rep(index=i, start_s=ts(mv.start_f), top_start_s=m["top_start_s"],
               top_end_s=m["top_end_s"], end_s=ts(mv.end_f), start_frame=mv.start,
               top_start_frame=mv.top_start, top_end_frame=mv.top_end, end_frame=mv.end,
               peak_angle_deg=mv.peak_angle_deg, peak_angle_raw_deg=to_raw(mv.peak_angle_deg),
               hold_s=m["hold_s"], lowering_s=m["lowering_s"],
               rising_s=(mv.top_start_f - mv.start_f) * dt, knee_angle_deg=knee,
               heel_rise_m=heel, lumbar=lumbar, complete=mv.complete,
               counted_by="hold" if mv.by_hold else "peak",
               faults=[f.rule for f in findings if f.severity == "fault"], findings=findings)


def rep_records(movements: list[Movement], t: np.ndarray, shk: np.ndarray, to_raw,
                ang: Angles, arch: np.ndarray, geom: Geometry, profile: Profile,
                fps: float, angle_sd_deg: float = float("nan"),
                jumped: list[bool] | None = None) -> tuple[list[Rep], list[Rep]]:
    """Rep and attempt records (with findings for reps) for segmented ``movements``.

    ``t``, ``shk`` (bias-corrected), ``arch`` and the fields of ``ang`` are per-frame ``(T,)``
    series; shared by the offline pipeline and the live engine. ``to_raw`` maps a corrected
    angle back to the landmark angle (degrees; for ``peak_angle_raw_deg``). ``angle_sd_deg``: the
    corrected angle's error SD between bodies (the bias model's residual), which sets how sure
    an angle finding near its threshold is. ``jumped``: :func:`heel_jumps` of ``movements``
    if the caller has it (else computed here).
    """
    if jumped is None:
        jumped = heel_jumps(movements, ang.heel_height_m, ang.far_heel_height_m, fps)
    heel = dict(zip(map(id, movements), heel_rises(movements, ang.heel_height_m, fps,
                                                   jumped=jumped)))
    tops = {id(m): top_arch(m, arch, geom) for m in movements}
    reps = [m for m in movements if m.is_rep]
    attempts = [m for m in movements if not m.is_rep]
    arch_set = arch_baseline([tops[id(m)] for m in reps
                              if on_the_line(m.peak_angle_deg, profile)],
                             profile.rule("lumbar_arch")["min_view_confidence"],
                             profile.rule("lumbar_arch")["baseline"])
    return ([_rep_record(i + 1, m, t, shk, to_raw, ang, heel[id(m)], tops[id(m)], geom,
                         profile, True, arch_set, angle_sd_deg) for i, m in enumerate(reps)],
            [_rep_record(i + 1, m, t, shk, to_raw, ang, heel[id(m)], tops[id(m)], geom,
                         profile, False) for i, m in enumerate(attempts)])


def analyze_track(track: PoseTrack, profile: Profile | str | dict = "hip_thrust", *,
                  config: str | os.PathLike | dict | None = None,
                  bias_model: BiasModel | None = None, cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                  video_meta: dict | None = None) -> Analysis:
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
    first = _analyze(track, profile["hip_thrust"], bias_model, cutoff_hz, video_meta,
                     "detected")
    looks = first.session.exercise_check.get("looks_like")
    if looks is None or looks == "hip_thrust":
        if looks is None and first.session.person.get("detected"):
            first.session.warnings.append(
                "could not tell the exercise from the set-up; analysed as a hip thrust "
                "(pass --exercise glute_bridge if the shoulders are on the floor)")
        return first
    return _analyze(track, profile[looks], bias_model, cutoff_hz, video_meta, "detected")


def _analyze(track: PoseTrack, profile: Profile, bias_model: BiasModel | None,
             cutoff_hz: float, video_meta: dict | None, exercise_source: str) -> Analysis:
    bias_model = bias_model or load_bias_model(profile.name)
    t = track.t_s
    original = track
    xy = smooth_track_xy(track.image[..., :2], t, track.fps, cutoff_hz)
    geom = estimate_geometry(track, xy)
    warnings: list[str] = []
    bad = implausible_frames(track.image[..., :2], track.detected, geom.side, geom.up)
    if bad.any():  # failed detections (e.g. half the body out of the picture): no person there
        track = track.without_frames(bad)
        xy = smooth_track_xy(track.image[..., :2], t, track.fps, cutoff_hz)
        geom = estimate_geometry(track, xy)
        warnings.append(f"{int(bad.sum())} frame{'s' if bad.sum() > 1 else ''} with impossible "
                        "landmarks (is the whole body in the picture?) treated as no person")
    vw = view_warning(geom)
    if vw:
        warnings.append(vw)
    if geom.view != "no_person" and geom.detected_share < 0.5:
        warnings.append(f"person found in only {geom.detected_share:.0%} of frames")
    warnings.extend(geom.notes)
    world = smooth_track_xy(track.world, t, track.fps, cutoff_hz)
    ang = joint_angles(xy, track.visibility, geom, world)
    thickness = trunk_thickness(xy, track.masks, track.mask_scale, geom)
    midline = midline_bias(xy, track.masks, track.mask_scale, geom,
                           top_frames(ang.shk_raw_deg))
    bias = bias_model.predict(geom.yaw_deg, thickness, midline)
    raw = bias_model.fuse(ang.shk_raw_deg, ang.shk_world_deg)  # image + world landmarks
    shk = bias_model.correct(raw, bias, geom.yaw_deg)
    arch = LUMBAR_MEASURES[profile.rule("lumbar_arch")["measure"]](
        xy, track.masks, track.mask_scale, geom)
    heel_base = np.nanmedian(ang.heel_height_m) if np.isfinite(ang.heel_height_m).any() else 0.0
    heel_lift = ang.heel_height_m - heel_base  # per-frame, for the CSV and plots

    person = geom.view != "no_person"
    movements = segment(t, shk, ang.torso_to_floor_deg, profile.reps, track.fps) \
        if person else []
    to_raw = lambda a: bias_model.uncorrect(a, bias, geom.yaw_deg)  # noqa: E731
    jumped = heel_jumps(movements, ang.heel_height_m, ang.far_heel_height_m, track.fps)
    rep_recs, attempt_recs = rep_records(movements, t, shk, to_raw, ang, arch, geom, profile,
                                         track.fps, bias_model.residual_sd_deg, jumped)
    reps = [m for m in movements if m.is_rep]
    n_jumped = sum(j for j, m in zip(jumped, movements) if m.is_rep)
    if n_jumped:
        warnings.append(f"the near heel landmark jumped to the far foot in {n_jumped} rep"
                        f"{'s' if n_jumped > 1 else ''}: heel lift not measured there")
    check = check_exercise(xy, geom.side, geom.up,
                           np.array([f for m in movements for f in (m.start, m.end)], int))
    mismatch = mismatch_warning(check, profile.name) if exercise_source == "given" else None
    if mismatch:
        warnings.append(mismatch)
    set_findings = evaluate_set(len(reps), profile) if person else []
    if person and not reps:
        warnings.append("no reps found")

    phase = np.zeros(track.n_frames, np.int8)  # 0 none
    phase[track.detected] = 1
    rep_idx = np.zeros(track.n_frames, np.int32)
    for r, m in zip(rep_recs, reps):
        phase[m.start:m.top_start] = 2
        phase[m.top_start:m.top_end + 1] = 3
        phase[m.top_end + 1:m.end + 1] = 4
        rep_idx[m.start:m.end + 1] = r.index
    frames = {
        "time_s": t, "detected": track.detected.astype(np.int8), "phase": phase, "rep": rep_idx,
        "shk_angle_deg": shk, "shk_angle_raw_deg": ang.shk_raw_deg,
        "shk_angle_world_deg": ang.shk_world_deg, "knee_angle_deg": ang.knee_deg,
        "shin_to_vertical_deg": ang.shin_to_vertical_deg,
        "torso_to_floor_deg": ang.torso_to_floor_deg, "heel_lift_m": heel_lift,
        "lumbar_silhouette_deg": arch, "visibility": ang.visibility,
    }
    meta = track.meta
    video = dict(video_meta or {})
    video.setdefault("path", meta.get("source"))
    video.setdefault("width", track.width)
    video.setdefault("height", track.height)
    video.setdefault("fps", track.fps)
    video.setdefault("frames", track.n_frames)
    video.setdefault("duration_s", track.duration_s)
    session = Session(
        video=video,
        model={"path": meta.get("model"), "name": Path(str(meta.get("model", ""))).name,
               "sha256": meta.get("model_sha256")},
        exercise=profile.name,
        camera={"side": geom.side, "side_confidence": geom.side_confidence, "view": geom.view,
                "yaw_deg": geom.yaw_deg, "warning": vw, "floor_source": geom.floor_source,
                "floor_angle_deg": math.degrees(math.atan2(geom.floor_dir[1],
                                                           geom.floor_dir[0])),
                "m_per_px": geom.m_per_px},
        person={"detected": person, "detected_share": geom.detected_share},
        exercise_check={**check.to_dict(), "source": exercise_source},
        reps=rep_recs, attempts=attempt_recs, set_findings=set_findings,
        warnings=warnings, profile=profile.to_dict(),
        calibration={"bias_deg": bias, "bias_model": bias_model.source,
                     "world_weight": bias_model.world_weight,
                     "trunk_thickness": thickness, "midline_bias_deg": midline,
                     "cutoff_hz": cutoff_hz},
        formcheck_version=__version__,
        created_utc=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    return Analysis(session, original, geom, xy, frames)


def resolve_profile(exercise: Profile | str | dict,
                    config: str | os.PathLike | dict | None = None) -> Profile | dict:
    """A :class:`Profile` for an exercise name, or for ``"auto"`` the candidate profiles
    ``{exercise: Profile}`` (``config`` applied to each, so a bad config fails before any
    video work). A Profile or a dict of them passes through."""
    if isinstance(exercise, (Profile, dict)):
        return exercise
    name = resolve_exercise(exercise, config)
    if name != "auto":
        return load_profile(name, config)
    return {ex: load_profile(ex, config) for ex in EXERCISES}


def analyze_video(video: str | os.PathLike, *, exercise: str | Profile | dict = "hip_thrust",
                  model: str | os.PathLike | None = "full",
                  config: str | os.PathLike | dict | None = None,
                  out_dir: str | os.PathLike | None = None, write_video: bool = True,
                  pose_options: PoseOptions | None = None,
                  progress: Callable[[int], None] | None = None,
                  estimator: PoseEstimator | None = None,
                  source_path: str | None = None, info: VideoInfo | None = None) -> Analysis:
    """Analyse one video file; with ``out_dir``, write every output (see :mod:`outputs`).

    ``exercise``: ``"hip_thrust"``, ``"glute_bridge"``, ``"auto"`` (read from the set-up) or
    what :func:`resolve_profile` returns. ``estimator``: reuse a loaded :class:`PoseEstimator`
    (it is :meth:`~PoseEstimator.reset` first), e.g. one per batch worker. ``source_path``: the
    name to record for the video when ``video`` is a temporary copy (e.g. on a cluster worker).
    ``info``: the video's :class:`VideoInfo` if the caller has already probed it.
    """
    profile = resolve_profile(exercise, config)  # a bad config fails before the slow part
    info = info or probe_video(video)
    if estimator is None:
        track = extract_track(video, model, pose_options, info, progress)
    else:
        estimator.reset()
        track = track_from_frames(estimator, iter_frames(video, info), info, progress)
    source = str(source_path or video)
    track.meta["source"] = source
    analysis = analyze_track(track, profile, video_meta={**info.to_dict(), "path": source,
                                                         "name": Path(source).name})
    mi = model_info(track.meta["model"]) if track.meta.get("model") else {}
    analysis.session.model.update({k: v for k, v in mi.items() if k in ("name", "sha256")})
    if out_dir is not None:
        from formcheck.sinks.files import write_outputs
        write_outputs(analysis, out_dir, video_path=video, write_video=write_video,
                      stem=Path(source).stem)
    return analysis


def reanalyze(track_path: str | os.PathLike, *, exercise: str | Profile | dict = "hip_thrust",
              config: str | os.PathLike | dict | None = None,
              out_dir: str | os.PathLike | None = None, write_video: bool = False,
              video_path: str | os.PathLike | None = None) -> Analysis:
    """Analyse a saved track ``.npz`` again (new thresholds, no model run); ``exercise`` as in
    :func:`analyze_video`."""
    profile = resolve_profile(exercise, config)
    track = PoseTrack.from_npz(track_path)
    analysis = analyze_track(track, profile)
    if out_dir is not None:
        from formcheck.sinks.files import write_outputs
        src = video_path or track.meta.get("source")
        can_video = write_video and src and Path(src).is_file()
        write_outputs(analysis, out_dir, video_path=src if can_video else None,
                      write_video=bool(can_video), write_track=False)
    return analysis
