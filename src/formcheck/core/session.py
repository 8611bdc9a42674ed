"""The analysis result of one set: a typed, versioned, JSON-serialisable :class:`Session`.

The JSON layout is documented by ``schema/session.schema.json`` (JSON Schema draft 2020-12)
and in ``docs/result-format.md``. Times are seconds from the first frame, angles degrees,
lengths metres. ``SCHEMA_VERSION`` changes its major number on any incompatible change.

Every block of the result is a dataclass (:class:`VideoMeta`, :class:`ModelMeta`,
:class:`Camera`, :class:`Person`, :class:`ExerciseCheckInfo`, :class:`Calibration`,
:class:`Lumbar`, the typed :class:`~formcheck.core.rules.Profile`); ``to_dict``/``from_dict``
map them to the JSON layout. Reading ignores keys a newer minor version may add.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from importlib import resources
from typing import Any

from formcheck.core.rules.finding import Finding
from formcheck.core.rules.profile import Profile
from formcheck.errors import ConfigError, InputError, require_file

SCHEMA_ID = "formcheck.session"
SCHEMA_VERSION = "1.10"


def _clean(x: Any) -> Any:
    """Round floats for JSON and turn NaN/inf into None."""
    if isinstance(x, float):
        return round(x, 4) if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and callable(x.item):  # numpy scalar
        return _clean(x.item())
    return x


class _Block:
    """A result block: ``to_dict`` leaves out the optional keys (``_OPTIONAL``) that are None,
    ``from_dict`` ignores unknown keys."""

    _OPTIONAL: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if not (f.name in self._OPTIONAL and getattr(self, f.name) is None)
        }

    @classmethod
    def from_dict(cls, d: dict | None):
        if not isinstance(d, dict):
            raise TypeError(f"{cls.__name__} must be an object, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class VideoMeta(_Block):
    """The analysed video: pixels, frames per second, seconds. ``frames`` read and analysed
    (``duration_s`` is theirs); ``frame_count`` as the container declares it. ``truncated``:
    the file was cut short or damaged and only ``frames`` of ``frame_count`` could be read
    (None when not checked: a live set, or a track saved by an older version).
    ``frame_rate_varies``: the frame times are uneven (variable frame rate, dropped frames);
    all times then come from the video's own timestamps. ``turned_deg``: formcheck turned the
    picture clockwise by this much before the model (``turn_source``: ``"given"`` by
    ``--rotate``, ``"auto"`` found on its side, ``"unsure"`` could not tell).
    ``analysis_step``: the pose model ran on every N-th frame only (None: every frame)."""

    path: str | None = None
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame_count: int | None = None
    rotation_deg: int | None = None
    fps_assumed: bool | None = None
    duration_s: float = 0.0
    name: str | None = None
    frames: int = 0
    truncated: bool | None = None
    frame_rate_varies: bool | None = None
    turned_deg: int | None = None
    turn_source: str | None = None
    analysis_step: int | None = None
    _OPTIONAL = (
        "frame_count",
        "rotation_deg",
        "fps_assumed",
        "name",
        "truncated",
        "frame_rate_varies",
        "turned_deg",
        "turn_source",
        "analysis_step",
    )


@dataclass
class ModelMeta(_Block):
    """The pose model: its file, name and SHA-256."""

    path: str | None = None
    name: str | None = None
    sha256: str | None = None


@dataclass
class Camera(_Block):
    """The camera view. ``side``: the body side facing it; ``view``: ``side``, ``oblique``,
    ``frontal`` or ``no_person``; ``yaw_deg`` from a level side view (degrees); ``warning``
    for the user; floor direction in the image (degrees) and metres per pixel."""

    side: str = "unknown"
    side_confidence: float = 0.0
    view: str = "no_person"
    yaw_deg: float | None = None
    warning: str | None = None
    floor_source: str | None = None
    floor_angle_deg: float | None = None
    m_per_px: float | None = None


@dataclass
class Person(_Block):
    detected: bool = False
    detected_share: float = 0.0  # share of frames with a person, 0..1


@dataclass
class ExerciseCheckInfo(_Block):
    """What the set-up looked like (:mod:`formcheck.core.setup_check`) and whether the
    exercise was ``given`` or ``detected`` from it (``source``). ``shoulder_rise_thighs`` is
    the set-up measure: thigh lengths of shoulder over hip, or, with ``measure``
    ``"shoulder_over_heel"`` (a weight hides the hip; 1.6), shin lengths of shoulder over
    heel; ``hip_thrust_min`` and ``glute_bridge_max`` are its limits."""

    looks_like: str | None = None
    shoulder_rise_thighs: float | None = None
    bottom_frames: int = 0
    hip_thrust_min: float | None = None
    glute_bridge_max: float | None = None
    source: str | None = None
    measure: str | None = None
    _OPTIONAL = ("measure",)


@dataclass
class Calibration(_Block):
    """The angle-bias correction used (degrees) and the filter cut-off (Hz)."""

    bias_deg: float | None = None
    bias_model: str | None = None
    world_weight: float = 0.0
    trunk_thickness: float | None = None
    midline_bias_deg: float | None = None
    cutoff_hz: float | None = None


@dataclass
class Lumbar(_Block):
    """A rep's lower-back reading (degrees): the angle estimate (hips past the line) and the
    silhouette measure with the set's baseline it is judged against."""

    angle_estimate_deg: float = 0.0
    silhouette_measure: str | None = None
    silhouette_deg: float | None = None
    silhouette_confidence: float = 0.0
    silhouette_set_baseline_deg: float | None = None
    silhouette_set_min_deg: float | None = None
    silhouette_set_reps: int = 0
    angle_confidence: float = 0.0
    used: str = "angle"  # which estimate: "silhouette" or "angle"


@dataclass
class LoadInfo(_Block):
    """A weight on the hips read from the person mask (:mod:`formcheck.core.load`); the
    result's ``load``. ``kind``: ``"none"``, ``"barbell"`` (a big round plate's rim fitted) or
    ``"weight"`` (any other); ``confidence`` 0..1; ``rise``: how far the outline rises above
    the body's own (fraction of the shoulder–knee length); ``radius_px``: the barbell plate's
    radius, image pixels; ``centre_px``: the weight's centre per analysed frame, image pixels
    (``[x, y]`` or None), only when there is a weight; ``angle_follows``: ``"bar"`` when the
    angle's changes are read from the plate's centre (each rep judged against the set's
    typical top, 1.10), ``"outline"`` when from the raised
    outline's because the model lost the hip (the top's angle then not measured), else None."""

    kind: str = "none"
    confidence: float = 0.0
    rise: float | None = None
    radius_px: float | None = None
    centre_px: list | None = None
    angle_follows: str | None = None
    _OPTIONAL = ("centre_px", "radius_px", "angle_follows")


@dataclass
class Rep:
    """One counted rep (or, in ``Session.attempts``, a rise that fell short of a rep)."""

    index: int
    start_s: float
    top_start_s: float
    top_end_s: float
    end_s: float
    start_frame: int
    top_start_frame: int
    top_end_frame: int
    end_frame: int
    peak_angle_deg: float  # bias-corrected estimate of the true angle at the top
    peak_angle_raw_deg: float  # straight from the landmarks
    hold_s: float
    lowering_s: float
    rising_s: float
    knee_angle_deg: float | None
    heel_rise_m: float | None
    lumbar: Lumbar
    complete: bool = True
    counted_by: str = "peak"  # "hold": the top was within reps.boundary_band_deg of the rep line;
    # "rise": where the angle follows the weight (load.angle_follows), the rise against the
    # set's others (core.reps.relative_reps)
    faults: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["lumbar"] = self.lumbar.to_dict()
        d["faults"] = list(self.faults)
        d["findings"] = [f.to_dict() for f in self.findings]
        return _clean(d)

    @classmethod
    def from_dict(cls, d: dict) -> Rep:
        d = dict(d)
        d["findings"] = [Finding(**f) for f in d.get("findings", [])]
        d["lumbar"] = Lumbar.from_dict(d.get("lumbar") or {})
        return cls(**d)


@dataclass
class Session:
    """Everything formcheck concluded about one set."""

    video: VideoMeta
    model: ModelMeta
    exercise: str
    camera: Camera
    person: Person
    reps: list[Rep]
    attempts: list[Rep]
    set_findings: list[Finding]
    warnings: list[str]
    profile: Profile
    calibration: Calibration
    files: dict[str, str] = field(default_factory=dict)  # kind -> file name beside the JSON
    formcheck_version: str = ""
    exercise_check: ExerciseCheckInfo = field(default_factory=ExerciseCheckInfo)
    created_utc: str = ""
    load_info: LoadInfo = field(default_factory=LoadInfo)  # the JSON's "load"

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    def fault_counts(self) -> dict[str, int]:
        """Number of reps with each fault id (set-level advisories counted once)."""
        counts: dict[str, int] = {}
        for r in self.reps:
            for rule in r.faults:
                counts[rule] = counts.get(rule, 0) + 1
        for f in self.set_findings:
            counts[f.rule] = counts.get(f.rule, 0) + 1
        return counts

    def to_dict(self) -> dict:
        return _clean(
            {
                "schema": SCHEMA_ID,
                "schema_version": SCHEMA_VERSION,
                "formcheck_version": self.formcheck_version,
                "created_utc": self.created_utc,
                "video": self.video.to_dict(),
                "model": self.model.to_dict(),
                "exercise": self.exercise,
                "exercise_check": self.exercise_check.to_dict(),
                "camera": self.camera.to_dict(),
                "load": self.load_info.to_dict(),
                "person": self.person.to_dict(),
                "rep_count": self.rep_count,
                "fault_counts": self.fault_counts(),
                "reps": [r.to_dict() for r in self.reps],
                "attempts": [a.to_dict() for a in self.attempts],
                "set_findings": [f.to_dict() for f in self.set_findings],
                "warnings": list(self.warnings),
                "profile": self.profile.to_dict(),
                "calibration": self.calibration.to_dict(),
                "files": dict(self.files),
            }
        )

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict) -> Session:
        if d.get("schema") != SCHEMA_ID:
            raise InputError(f"not a formcheck session result (missing 'schema': '{SCHEMA_ID}')")
        major = str(d.get("schema_version", "0")).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise InputError(f"unsupported result schema version {d.get('schema_version')}")
        try:
            profile = Profile.from_dict(d["profile"])
        except ConfigError as exc:
            raise InputError(f"the result's profile is not valid: {exc}") from None
        return cls(
            video=VideoMeta.from_dict(d["video"]),
            model=ModelMeta.from_dict(d["model"]),
            exercise=d["exercise"],
            camera=Camera.from_dict(d["camera"]),
            person=Person.from_dict(d["person"]),
            reps=[Rep.from_dict(r) for r in d["reps"]],
            attempts=[Rep.from_dict(r) for r in d["attempts"]],
            set_findings=[Finding(**f) for f in d["set_findings"]],
            warnings=list(d["warnings"]),
            profile=profile,
            calibration=Calibration.from_dict(d["calibration"]),
            files=dict(d.get("files", {})),
            formcheck_version=d.get("formcheck_version", ""),
            created_utc=d.get("created_utc", ""),
            exercise_check=ExerciseCheckInfo.from_dict(d.get("exercise_check") or {}),
            load_info=LoadInfo.from_dict(d.get("load") or {}),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> Session:
        """Read a result JSON written by ``formcheck analyze``; InputError if it is not one."""
        p = require_file(path, "result file", "a result .json file")
        try:
            d = json.loads(p.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{p} is not a JSON result file ({exc})") from None
        if not isinstance(d, dict):
            raise InputError(f"{p} is not a formcheck result")
        try:
            return cls.from_dict(d)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InputError(f"{p} is not a valid formcheck result ({exc})") from None


def schema() -> dict:
    """The JSON Schema of a session result."""
    text = resources.files("formcheck").joinpath("schema/session.schema.json").read_text("utf-8")
    return json.loads(text)
