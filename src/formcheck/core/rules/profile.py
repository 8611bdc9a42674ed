"""Exercise profiles: the packaged ``profiles/<exercise>.toml``, optionally overridden by a
user's ``--config`` file with the same tables and keys, loaded into a typed, validated
:class:`Profile` once. Unknown keys and bad values raise :class:`ConfigError` with one line.

Units: degrees, seconds, metres. ``reps.min_peak_deg`` is the *rep line* (a rise that tops out
lower is an attempt, 150°); ``rules.sag.min_peak_deg`` is the *sag limit* (a rep whose top is
lower is a sag, 170°). Both keep their TOML names; in code they are ``profile.reps.min_peak_deg``
and ``profile.rules.sag.min_peak_deg``.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from formcheck.core.movement import RepParams
from formcheck.core.rules.settings import (
    ExerciseInfo,
    FastLoweringSettings,
    HeelLiftSettings,
    HyperextensionSettings,
    KneeAngleSettings,
    LumbarArchSettings,
    RepCountSettings,
    RuleSettings,
    SagSettings,
    SetParams,
    ShortHoldSettings,
)
from formcheck.errors import ConfigError, require_file

EXERCISES = ("hip_thrust", "glute_bridge")
#: What ``--exercise`` accepts: an exercise, or ``auto`` (read from the set-up, per video).
EXERCISE_CHOICES = EXERCISES + ("auto",)
#: The silhouette measures ``rules.lumbar_arch.measure`` may name (``silhouette.LUMBAR_MEASURES``)
#: and how a finding's message calls them.
LUMBAR_MEASURE_NAMES = {"back_bend": "back-outline bend", "front_crease": "front-outline crease"}
#: The set baselines ``rules.lumbar_arch.baseline`` may name (``measures.arch_baseline``).
ARCH_BASELINES = ("least", "lower_half")


@dataclass(frozen=True)
class Profile:
    """A loaded, validated exercise profile (see the module docstring for units)."""

    name: str
    exercise: ExerciseInfo
    reps: RepParams
    set: SetParams
    rules: RuleSettings
    sources: tuple[str, ...] = ()

    def settings(self, rule_id: str) -> Any:
        """The typed settings record of rule ``rule_id``."""
        return getattr(self.rules, rule_id)

    def enabled(self, rule_id: str) -> bool:
        return bool(self.settings(rule_id).enabled)

    def to_dict(self) -> dict:
        """The profile as the nested tables of its TOML (the result's ``profile``)."""
        return {
            "exercise": _record(self.exercise),
            "reps": _record(self.reps, config_only=True),
            "set": _record(self.set),
            "rules": {f.name: _record(getattr(self.rules, f.name)) for f in fields(self.rules)},
        }

    @classmethod
    def from_dict(cls, data: dict, src: str = "result") -> Profile:
        """A profile from its tables (e.g. a saved result's ``profile``), validated like a
        config over the packaged profile of the exercise it names."""
        name = _named_exercise(data) or "hip_thrust"
        return load_profile(name, data, src=src)


def _record(obj: Any, config_only: bool = False) -> dict:
    keys = _RepParamsKeys if config_only else [f.name for f in fields(obj)]
    return {k: getattr(obj, k) for k in keys}


#: The ``[reps]`` keys a profile sets (RepParams has internal settings beyond these).
_RepParamsKeys = (
    "enter_delta_deg",
    "exit_delta_deg",
    "min_peak_deg",
    "boundary_band_deg",
    "boundary_hold_s",
    "top_tolerance_deg",
    "top_band_deg",
    "top_dip_deg",
    "ease_extension",
    "min_duration_s",
    "max_torso_to_floor_deg",
)

_SETTINGS = {
    "sag": SagSettings,
    "hyperextension": HyperextensionSettings,
    "lumbar_arch": LumbarArchSettings,
    "short_hold": ShortHoldSettings,
    "fast_lowering": FastLoweringSettings,
    "heel_lift": HeelLiftSettings,
    "knee_angle": KneeAngleSettings,
    "rep_count": RepCountSettings,
}


def _read_toml(path: Path) -> dict:
    require_file(path, "config file", "a TOML config file", ConfigError, allow_empty=True)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None


@functools.cache
def _packaged_tables(exercise: str) -> dict:
    text = resources.files("formcheck.profiles").joinpath(f"{exercise}.toml").read_text("utf-8")
    return tomllib.loads(text)


def _packaged(exercise: str) -> dict:
    """The packaged profile's tables (read once per process; a fresh copy each call)."""
    return copy.deepcopy(_packaged_tables(exercise))


def _merge(base: dict, over: dict, where: str, src: str) -> None:
    """Override ``base`` in place with ``over``: known keys only, each of its default's type."""
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


def _build(name: str, d: dict, sources: tuple[str, ...]) -> Profile:
    rules = RuleSettings(**{k: _SETTINGS[k](**d["rules"][k]) for k in _SETTINGS})
    return Profile(
        name=name,
        exercise=ExerciseInfo(**d["exercise"]),
        reps=RepParams(**d["reps"]),
        set=SetParams(**d["set"]),
        rules=rules,
        sources=sources,
    )


def _finite(p: Profile, path: str) -> float:
    node: Any = p
    for k in path.split("."):
        node = getattr(node, k)
    if not math.isfinite(node):
        raise ConfigError(f"'{path}' in {p.sources[-1]} must be a finite number")
    return float(node)


#: Settings that must be > 0, >= 0, and angles strictly between 0 and 360 degrees.
_POSITIVE = (
    "reps.enter_delta_deg",
    "reps.exit_delta_deg",
    "reps.top_tolerance_deg",
    "reps.top_band_deg",
    "reps.top_dip_deg",
    "reps.boundary_hold_s",
    "reps.min_duration_s",
    "rules.short_hold.min_hold_s",
    "rules.fast_lowering.min_lowering_s",
    "rules.heel_lift.max_heel_rise_m",
    "rules.lumbar_arch.min_set_reps",
)
_NON_NEGATIVE = {
    "reps.boundary_band_deg": "0 (off) or more",
    "rules.lumbar_arch.max_arch_alone_deg": "0 (no absolute limit) or more",
    "rules.lumbar_arch.min_arch_rise_deg": "0 or more",
}
_ANGLES = (
    "reps.min_peak_deg",
    "rules.sag.min_peak_deg",
    "rules.hyperextension.max_peak_deg",
    "rules.knee_angle.min_knee_deg",
    "rules.knee_angle.max_knee_deg",
    "reps.max_torso_to_floor_deg",
)
#: (lower, higher, may they be equal, message): the first setting must stay below the second.
_ORDERED = (
    (
        "reps.top_band_deg",
        "reps.top_dip_deg",
        True,
        "reps.top_dip_deg must be at least reps.top_band_deg in {src}",
    ),
    (
        "reps.exit_delta_deg",
        "reps.enter_delta_deg",
        False,
        "reps.exit_delta_deg must be below reps.enter_delta_deg in {src} (the gap is the "
        "hysteresis)",
    ),
    (
        "rules.sag.min_peak_deg",
        "rules.hyperextension.max_peak_deg",
        False,
        "rules.sag.min_peak_deg must be below rules.hyperextension.max_peak_deg in {src}",
    ),
    (
        "rules.knee_angle.min_knee_deg",
        "rules.knee_angle.max_knee_deg",
        False,
        "rules.knee_angle.min_knee_deg must be below max_knee_deg in {src}",
    ),
)


def _validate(p: Profile) -> None:
    """ConfigError (one line naming the setting and its source) for an impossible profile."""
    src = p.sources[-1]
    for path in _POSITIVE:
        if _finite(p, path) <= 0:
            raise ConfigError(f"'{path}' in {src} must be greater than 0")
    for path, what in _NON_NEGATIVE.items():
        if _finite(p, path) < 0:
            raise ConfigError(f"'{path}' in {src} must be {what}")
    for path in _ANGLES:
        if not 0 < _finite(p, path) < 360:
            raise ConfigError(f"'{path}' in {src} must be an angle between 0 and 360 degrees")
    for lo, hi, may_equal, msg in _ORDERED:
        low, high = _finite(p, lo), _finite(p, hi)
        if low > high or (low == high and not may_equal):
            raise ConfigError(msg.format(src=src))
    if not 0 <= _finite(p, "reps.ease_extension") <= 1:
        raise ConfigError(f"'reps.ease_extension' in {src} must be between 0 and 1")
    _validate_choices(p, src)


def _validate_choices(p: Profile, src: str) -> None:
    arch = p.rules.lumbar_arch
    for key, choices in (("measure", LUMBAR_MEASURE_NAMES), ("baseline", ARCH_BASELINES)):
        val = getattr(arch, key)
        if val not in choices:
            raise ConfigError(
                f"'rules.lumbar_arch.{key}' in {src} must be one of "
                f"{', '.join(choices)}, got {val!r}"
            )
    if not 0 <= _finite(p, "rules.lumbar_arch.min_view_confidence") <= 1:
        raise ConfigError(f"'rules.lumbar_arch.min_view_confidence' in {src} must be in [0, 1]")
    lo, hi = p.set.min_reps, p.set.max_reps
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 < lo <= hi):
        raise ConfigError(
            f"set.min_reps and set.max_reps in {src} must be whole numbers with "
            "0 < min_reps <= max_reps"
        )


def _named_exercise(over: dict) -> str | None:
    """The exercise a config names in ``[exercise] name``, if any."""
    section = over.get("exercise")
    return section.get("name") if isinstance(section, dict) else None


def resolve_exercise(exercise: str, config: str | os.PathLike | dict | None = None) -> str:
    """The exercise to analyse as: one of :data:`EXERCISES`, or ``"auto"`` (read from each
    video's set-up). A config that names its exercise (``[exercise] name``) settles ``auto``.
    ConfigError for an unknown exercise or an unreadable config."""
    if exercise not in EXERCISE_CHOICES:
        raise ConfigError(
            f"unknown exercise '{exercise}' (choose from {', '.join(EXERCISE_CHOICES)})"
        )
    if exercise != "auto" or config is None:
        return exercise
    name = _named_exercise(config if isinstance(config, dict) else _read_toml(Path(config)))
    if name is None:
        return "auto"
    if name not in EXERCISES:
        raise ConfigError(
            f"{config if not isinstance(config, dict) else 'config'} names an "
            f"unknown exercise '{name}' (choose from {', '.join(EXERCISES)})"
        )
    return name


def load_profile(
    exercise: str = "hip_thrust",
    config: str | os.PathLike | dict | None = None,
    *,
    src: str = "config",
) -> Profile:
    """The packaged profile for ``exercise``, overridden by ``config`` (a TOML path or a dict;
    ``src`` names a dict in messages). A config may also name the exercise in
    ``[exercise] name``; it must then match."""
    if exercise not in EXERCISES:
        raise ConfigError(f"unknown exercise '{exercise}' (choose from {', '.join(EXERCISES)})")
    data = _packaged(exercise)
    sources = [f"formcheck/profiles/{exercise}.toml"]
    if config is not None:
        if isinstance(config, dict):
            over = copy.deepcopy(config)
        else:
            src = str(config)
            over = _read_toml(Path(config))
        name = _named_exercise(over)
        if name is not None and name != exercise:
            raise ConfigError(f"{src} is for exercise '{name}', not '{exercise}'")
        _merge(data, over, "", src)
        sources.append(src)
    try:
        profile = _build(exercise, data, tuple(sources))
    except TypeError as exc:  # a packaged profile out of step with the settings records
        raise ConfigError(f"profile {exercise} does not match formcheck: {exc}") from None
    _validate(profile)
    return profile
