"""Typed settings of an exercise profile: one frozen record per TOML table (``[exercise]``,
``[set]``, ``[rules.<id>]``). Units: degrees, seconds, metres; 0..1 for confidences."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExerciseInfo:
    name: str
    title: str
    support: str  # what the shoulders rest on: "bench" or "floor"


@dataclass(frozen=True)
class SetParams:
    min_reps: int
    max_reps: int


@dataclass(frozen=True)
class SagSettings:
    enabled: bool
    min_peak_deg: float  # a rep whose top (corrected angle) is lower sags
    cue: str


@dataclass(frozen=True)
class HyperextensionSettings:
    enabled: bool
    max_peak_deg: float  # a rep whose top is higher pushes the hips past the line
    cue: str


@dataclass(frozen=True)
class LumbarArchSettings:
    enabled: bool
    measure: str  # a key of LUMBAR_MEASURE_NAMES
    min_arch_rise_deg: float  # over the athlete's own baseline
    max_arch_alone_deg: float  # absolute limit; 0 = off
    min_set_reps: int | float  # reps with the hips on the line the baseline needs
    baseline: str  # a member of ARCH_BASELINES
    min_view_confidence: float  # 0..1
    cue: str


@dataclass(frozen=True)
class ShortHoldSettings:
    enabled: bool
    min_hold_s: float
    cue: str


@dataclass(frozen=True)
class FastLoweringSettings:
    enabled: bool
    min_lowering_s: float
    cue: str


@dataclass(frozen=True)
class HeelLiftSettings:
    enabled: bool
    max_heel_rise_m: float  # beyond the set's common shift
    cue: str


@dataclass(frozen=True)
class KneeAngleSettings:
    enabled: bool
    advisory: bool
    min_knee_deg: float
    max_knee_deg: float
    cue: str


@dataclass(frozen=True)
class RepCountSettings:
    enabled: bool
    advisory: bool
    cue: str


@dataclass(frozen=True)
class RuleSettings:
    """Every rule's settings, one typed record per rule id."""

    sag: SagSettings
    hyperextension: HyperextensionSettings
    lumbar_arch: LumbarArchSettings
    short_hold: ShortHoldSettings
    fast_lowering: FastLoweringSettings
    heel_lift: HeelLiftSettings
    knee_angle: KneeAngleSettings
    rep_count: RepCountSettings
