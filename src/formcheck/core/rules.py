"""Exercise profiles (TOML) and the rules that turn measured reps into findings with cues.

A profile is the packaged ``profiles/<exercise>.toml``, optionally overridden by a user's
``--config`` file with the same tables and keys. Unknown keys and bad values raise
:class:`ConfigError` with a one-line message.
"""

from __future__ import annotations

import copy
import math
import os
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from formcheck.errors import ConfigError, require_file
from formcheck.core.reps import RepParams

EXERCISES = ("hip_thrust", "glute_bridge")
#: What ``--exercise`` accepts: an exercise, or ``auto`` (read from the set-up, per video).
EXERCISE_CHOICES = EXERCISES + ("auto",)

#: Rule ids in the order findings are reported.
RULE_IDS = ("sag", "hyperextension", "lumbar_arch", "short_hold", "fast_lowering", "heel_lift",
            "knee_angle", "rep_count")
#: The silhouette measures ``rules.lumbar_arch.measure`` may name (``kinematics.LUMBAR_MEASURES``)
#: and how a finding's message calls them.
LUMBAR_MEASURE_NAMES = {"back_bend": "back-outline bend", "front_crease": "front-outline crease"}
#: The set baselines ``rules.lumbar_arch.baseline`` may name (``pipeline.arch_baseline``).
ARCH_BASELINES = ("least", "lower_half")


@dataclass
class Finding:
    """One broken rule. ``value`` in ``unit``; broken when ``value <comparison> threshold``."""

    rule: str
    severity: str  # "fault" or "advisory"
    value: float | None
    unit: str
    threshold: float | None
    comparison: str  # "<" or ">" (the broken side) or "outside"
    time_s: float | None
    frame: int | None
    cue: str
    message: str
    estimate: str | None = None  # which estimate measured it (e.g. "angle", "silhouette")
    confidence: float | None = None  # 0..1, how far to trust the measurement

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("value", "threshold", "time_s", "confidence"):
            if isinstance(d[k], float):
                d[k] = round(d[k], 4) if math.isfinite(d[k]) else None
        return d


@dataclass
class Profile:
    """A loaded, validated exercise profile."""

    name: str
    data: dict[str, Any]
    sources: list[str] = field(default_factory=list)

    @property
    def reps(self) -> RepParams:
        return RepParams(**self.data["reps"])

    def rule(self, rule_id: str) -> dict[str, Any]:
        return self.data["rules"][rule_id]

    def enabled(self, rule_id: str) -> bool:
        return bool(self.data["rules"][rule_id].get("enabled", True))

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)


def _read_toml(path: Path) -> dict:
    require_file(path, "config file", "a TOML config file", ConfigError, allow_empty=True)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None


def _packaged(exercise: str) -> dict:
    text = resources.files("formcheck.profiles").joinpath(f"{exercise}.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict, over: dict, where: str, src: str) -> None:
    for key, val in over.items():
        path = f"{where}.{key}" if where else key
        if key not in base:
            raise ConfigError(f"unknown setting '{path}' in {src}")
        if isinstance(base[key], dict):
            if not isinstance(val, dict):
                raise ConfigError(f"'{path}' in {src} must be a table")
            _merge(base[key], val, path, src)
            continue
        ref = base[key]
        if isinstance(ref, bool):
            ok = isinstance(val, bool)
        elif isinstance(ref, (int, float)):
            ok = isinstance(val, (int, float)) and not isinstance(val, bool)
        else:
            ok = isinstance(val, type(ref))
        if not ok:
            raise ConfigError(f"'{path}' in {src} must be {type(ref).__name__}, got {val!r}")
        base[key] = float(val) if isinstance(ref, float) else val


def _validate(d: dict, src: str) -> None:
    def num(path: str) -> float:
        node: Any = d
        for k in path.split("."):
            node = node[k]
        if not math.isfinite(node):
            raise ConfigError(f"'{path}' in {src} must be a finite number")
        return float(node)

    for path in ("reps.enter_delta_deg", "reps.exit_delta_deg", "reps.top_tolerance_deg",
                 "reps.top_band_deg", "reps.top_dip_deg", "reps.boundary_hold_s",
                 "reps.min_duration_s", "rules.short_hold.min_hold_s",
                 "rules.fast_lowering.min_lowering_s", "rules.heel_lift.max_heel_rise_m",
                 "rules.lumbar_arch.min_set_reps"):
        if num(path) <= 0:
            raise ConfigError(f"'{path}' in {src} must be greater than 0")
    if num("reps.boundary_band_deg") < 0:
        raise ConfigError(f"'reps.boundary_band_deg' in {src} must be 0 (off) or more")
    if num("reps.top_dip_deg") < num("reps.top_band_deg"):
        raise ConfigError(f"reps.top_dip_deg must be at least reps.top_band_deg in {src}")
    if num("reps.exit_delta_deg") >= num("reps.enter_delta_deg"):
        raise ConfigError(f"reps.exit_delta_deg must be below reps.enter_delta_deg in {src} "
                          "(the gap is the hysteresis)")
    if not 0 <= num("reps.ease_extension") <= 1:
        raise ConfigError(f"'reps.ease_extension' in {src} must be between 0 and 1")
    for path in ("reps.min_peak_deg", "rules.sag.min_peak_deg",
                 "rules.hyperextension.max_peak_deg", "rules.knee_angle.min_knee_deg",
                 "rules.knee_angle.max_knee_deg", "reps.max_torso_to_floor_deg"):
        if not 0 < num(path) < 360:
            raise ConfigError(f"'{path}' in {src} must be an angle between 0 and 360 degrees")
    if num("rules.sag.min_peak_deg") >= num("rules.hyperextension.max_peak_deg"):
        raise ConfigError(f"rules.sag.min_peak_deg must be below "
                          f"rules.hyperextension.max_peak_deg in {src}")
    if num("rules.knee_angle.min_knee_deg") >= num("rules.knee_angle.max_knee_deg"):
        raise ConfigError(f"rules.knee_angle.min_knee_deg must be below max_knee_deg in {src}")
    if num("rules.lumbar_arch.max_arch_alone_deg") < 0:
        raise ConfigError(f"'rules.lumbar_arch.max_arch_alone_deg' in {src} must be 0 (no "
                          "absolute limit) or more")
    if num("rules.lumbar_arch.min_arch_rise_deg") < 0:
        raise ConfigError(f"'rules.lumbar_arch.min_arch_rise_deg' in {src} must be 0 or more")
    for key, choices in (("measure", LUMBAR_MEASURE_NAMES), ("baseline", ARCH_BASELINES)):
        val = d["rules"]["lumbar_arch"].get(key)
        if val not in choices:
            raise ConfigError(f"'rules.lumbar_arch.{key}' in {src} must be one of "
                              f"{', '.join(choices)}, got {val!r}")
    if not 0 <= num("rules.lumbar_arch.min_view_confidence") <= 1:
        raise ConfigError(f"'rules.lumbar_arch.min_view_confidence' in {src} must be in [0, 1]")
    lo, hi = d["set"]["min_reps"], d["set"]["max_reps"]
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 < lo <= hi):
        raise ConfigError(f"set.min_reps and set.max_reps in {src} must be whole numbers with "
                          "0 < min_reps <= max_reps")


def _named_exercise(over: dict) -> str | None:
    """The exercise a config names in ``[exercise] name``, if any."""
    section = over.get("exercise")
    return section.get("name") if isinstance(section, dict) else None


def resolve_exercise(exercise: str, config: str | os.PathLike | dict | None = None) -> str:
    """The exercise to analyse as: one of :data:`EXERCISES`, or ``"auto"`` (read from each
    video's set-up). A config that names its exercise (``[exercise] name``) settles ``auto``.
    ConfigError for an unknown exercise or an unreadable config."""
    if exercise not in EXERCISE_CHOICES:
        raise ConfigError(f"unknown exercise '{exercise}' (choose from "
                          f"{', '.join(EXERCISE_CHOICES)})")
    if exercise != "auto" or config is None:
        return exercise
    name = _named_exercise(config if isinstance(config, dict) else _read_toml(Path(config)))
    if name is None:
        return "auto"
    if name not in EXERCISES:
        raise ConfigError(f"{config if not isinstance(config, dict) else 'config'} names an "
                          f"unknown exercise '{name}' (choose from {', '.join(EXERCISES)})")
    return name


def load_profile(exercise: str = "hip_thrust",
                 config: str | os.PathLike | dict | None = None) -> Profile:
    """The packaged profile for ``exercise``, overridden by ``config`` (a TOML path or a dict).

    A config may also name the exercise in ``[exercise] name``; it must then match.
    """
    if exercise not in EXERCISES:
        raise ConfigError(f"unknown exercise '{exercise}' (choose from {', '.join(EXERCISES)})")
    data = _packaged(exercise)
    sources = [f"formcheck/profiles/{exercise}.toml"]
    if config is not None:
        if isinstance(config, dict):
            over, src = copy.deepcopy(config), "config"
        else:
            src = str(config)
            over = _read_toml(Path(config))
        name = _named_exercise(over)
        if name is not None and name != exercise:
            raise ConfigError(f"{src} is for exercise '{name}', not '{exercise}'")
        _merge(data, over, "", src)
        sources.append(src)
    _validate(data, sources[-1])
    return Profile(name=exercise, data=data, sources=sources)


def _finding(profile: Profile, rule: str, value, unit, threshold, comparison, time_s, frame,
             message, estimate=None, confidence=None) -> Finding:
    r = profile.rule(rule)
    severity = "advisory" if r.get("advisory", False) else "fault"
    return Finding(rule, severity, value, unit, threshold, comparison, time_s, frame, r["cue"],
                   message, estimate, confidence)


def angle_finding_confidence(view_confidence: float | None, margin_deg: float,
                             sd_deg: float | None) -> float | None:
    """Confidence (0–1) of a peak-angle finding (``sag``, ``hyperextension``).

    The view confidence times the probability that the true angle is past the threshold, for a
    measured angle ``margin_deg`` past it (degrees, ≥ 0) and a normal error of SD ``sd_deg``
    (the bias model's residual between bodies): 0.5 right at the threshold, 0.99 at 2.3 SD
    past it. Without a usable SD, the view confidence alone.
    """
    if view_confidence is None:
        return None
    if sd_deg is None or not math.isfinite(sd_deg) or sd_deg <= 0:
        return view_confidence
    p = 0.5 * (1.0 + math.erf(max(margin_deg, 0.0) / (sd_deg * math.sqrt(2.0))))
    return view_confidence * p


def arch_limits(r: dict, base: float | None, n_set: int) -> tuple[float, float]:
    """The ``lumbar_arch`` rule's two limits (degrees) for a rep with the hips on the line: the
    absolute one (``max_arch_alone_deg``; inf when it is 0, off) and the athlete's own one, the
    set's baseline ``base`` (``pipeline.arch_baseline``) plus ``min_arch_rise_deg`` (inf
    without a base or with fewer than ``min_set_reps`` reps). A value over the first, or at the
    second or over, is an arch. Shared by :func:`evaluate_rep` and the live cue."""
    alone = r["max_arch_alone_deg"] or math.inf
    own = base + r["min_arch_rise_deg"] if base is not None and n_set >= r["min_set_reps"] \
        else math.inf
    return alone, own


def evaluate_rep(m: dict, profile: Profile) -> list[Finding]:
    """Findings for one rep from its measurements ``m`` (see ``pipeline.measure_rep``).

    ``m`` keys: ``peak_angle_deg``, ``peak_time_s``, ``peak_frame``, ``hold_s``, ``lowering_s``,
    ``lowering_time_s``, ``lowering_frame``, ``complete``, ``heel_rise_m``, ``heel_time_s``,
    ``heel_frame``, ``knee_angle_deg``, ``arch_sil_deg``, ``arch_confidence``, ``angle_confidence``,
    ``arch_set_base_deg`` (the athlete's baseline of the silhouette measure over the set's reps
    with the hips on the line, ``pipeline.arch_baseline``), ``arch_set_reps`` (how many those
    are) and ``angle_sd_deg`` (the corrected angle's error SD, for the confidence of angle
    findings; optional).
    """
    out: list[Finding] = []
    peak, t, f = m["peak_angle_deg"], m["peak_time_s"], m["peak_frame"]
    conf = m.get("angle_confidence")
    sd = m.get("angle_sd_deg")
    if profile.enabled("sag"):
        thr = profile.rule("sag")["min_peak_deg"]
        if peak < thr:
            out.append(_finding(profile, "sag", peak, "deg", thr, "<", t, f,
                                f"top of the rep at {peak:.0f} deg, short of a straight line "
                                f"({thr:.0f} deg)", "angle", angle_finding_confidence(
                                    conf, thr - peak, sd)))
    if profile.enabled("hyperextension"):
        thr = profile.rule("hyperextension")["max_peak_deg"]
        if peak > thr:
            out.append(_finding(profile, "hyperextension", peak, "deg", thr, ">", t, f,
                                f"hips pushed {peak - 180:.0f} deg past a straight line "
                                f"(limit {thr:.0f} deg)", "angle", angle_finding_confidence(
                                    conf, peak - thr, sd)))
    if profile.enabled("lumbar_arch"):
        r = profile.rule("lumbar_arch")
        arch, aconf = m.get("arch_sil_deg"), m.get("arch_confidence") or 0.0
        base, n_set = m.get("arch_set_base_deg"), m.get("arch_set_reps") or 0
        # only with the hips on the line: a sag bends the outline at the hip by itself, and a
        # hyperextension finding already says "don't arch"
        off_line = any(f.rule in ("sag", "hyperextension") for f in out)
        usable = arch is not None and math.isfinite(arch) and \
            aconf >= r["min_view_confidence"] and not off_line
        alone, own = arch_limits(r, base, n_set)
        what = LUMBAR_MEASURE_NAMES[r["measure"]]
        if usable and arch > alone:
            out.append(_finding(profile, "lumbar_arch", arch, "deg", alone, ">", t, f,
                                f"lower back arched ({what} {arch:.0f} deg, limit "
                                f"{alone:.0f} deg)", "silhouette", aconf))
        elif usable and arch >= own:
            out.append(_finding(profile, "lumbar_arch", arch, "deg", own, ">", t, f,
                                f"lower back arched ({what} {arch:.0f} deg, "
                                f"{arch - base:.0f} deg over your own baseline)",
                                "silhouette", aconf))
    if profile.enabled("short_hold"):
        thr = profile.rule("short_hold")["min_hold_s"]
        if m["hold_s"] < thr:
            out.append(_finding(profile, "short_hold", m["hold_s"], "s", thr, "<",
                                m["top_start_s"], m["top_start_frame"],
                                f"held the top {m['hold_s']:.1f} s (aim for {thr:.1f} s)",
                                "angle", conf))
    if profile.enabled("fast_lowering") and m.get("complete", True):
        thr = profile.rule("fast_lowering")["min_lowering_s"]
        if m["lowering_s"] < thr:
            out.append(_finding(profile, "fast_lowering", m["lowering_s"], "s", thr, "<",
                                m["top_end_s"], m["top_end_frame"],
                                f"lowered in {m['lowering_s']:.1f} s (aim for {thr:.1f} s or "
                                "more)", "angle", conf))
    if profile.enabled("heel_lift"):
        thr = profile.rule("heel_lift")["max_heel_rise_m"]
        rise = m.get("heel_rise_m")
        if rise is not None and math.isfinite(rise) and rise > thr:
            out.append(_finding(profile, "heel_lift", rise, "m", thr, ">", m["heel_time_s"],
                                m["heel_frame"], f"heel lifted {rise * 100:.1f} cm "
                                f"(limit {thr * 100:.1f} cm)", "landmarks",
                                m.get("heel_confidence")))
    if profile.enabled("knee_angle"):
        r = profile.rule("knee_angle")
        k = m.get("knee_angle_deg")
        if k is not None and math.isfinite(k) and not r["min_knee_deg"] <= k <= r["max_knee_deg"]:
            thr = r["min_knee_deg"] if k < r["min_knee_deg"] else r["max_knee_deg"]
            out.append(_finding(profile, "knee_angle", k, "deg", thr,
                                "<" if k < r["min_knee_deg"] else ">", t, f,
                                f"knee angle {k:.0f} deg at the top (aim for "
                                f"{r['min_knee_deg']:.0f}-{r['max_knee_deg']:.0f} deg)",
                                "angle", conf))
    return out


def evaluate_set(rep_count: int, profile: Profile) -> list[Finding]:
    """Set-level findings (``rep_count``)."""
    if not profile.enabled("rep_count"):
        return []
    lo, hi = profile.data["set"]["min_reps"], profile.data["set"]["max_reps"]
    if lo <= rep_count <= hi:
        return []
    thr = lo if rep_count < lo else hi
    return [_finding(profile, "rep_count", float(rep_count), "reps", float(thr),
                     "<" if rep_count < lo else ">", None, None,
                     f"{rep_count} reps in the set (target {lo}-{hi})")]
