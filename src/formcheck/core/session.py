"""The analysis result of one set: a typed, versioned, JSON-serialisable :class:`Session`.

The JSON layout is documented by ``schema/session.schema.json`` (JSON Schema draft 2020-12)
and in ``docs/result-format.md``. Times are seconds from the first frame, angles degrees,
lengths metres. ``SCHEMA_VERSION`` changes its major number on any incompatible change.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

from formcheck.errors import InputError, require_file
from formcheck.core.rules.finding import Finding

SCHEMA_ID = "formcheck.session"
SCHEMA_VERSION = "1.3"


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
    lumbar: dict[str, Any]
    complete: bool = True
    counted_by: str = "peak"  # "hold": the top was within reps.boundary_band_deg of the rep line
    faults: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["findings"] = [f.to_dict() for f in self.findings]
        return _clean(d)

    @classmethod
    def from_dict(cls, d: dict) -> "Rep":
        d = dict(d)
        d["findings"] = [Finding(**f) for f in d.get("findings", [])]
        return cls(**d)


@dataclass
class Session:
    """Everything formcheck concluded about one set."""

    video: dict[str, Any]
    model: dict[str, Any]
    exercise: str
    camera: dict[str, Any]
    person: dict[str, Any]
    reps: list[Rep]
    attempts: list[Rep]
    set_findings: list[Finding]
    warnings: list[str]
    profile: dict[str, Any]
    calibration: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    formcheck_version: str = ""
    #: What the set-up looked like (:mod:`formcheck.core.setup_check`) and whether ``exercise`` was
    #: given or detected from it (``source``).
    exercise_check: dict[str, Any] = field(default_factory=dict)
    created_utc: str = ""

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    def fault_counts(self) -> dict[str, int]:
        """Number of reps with each fault id (set-level advisories counted once)."""
        counts: dict[str, int] = {}
        for r in self.reps:
            for f in r.faults:
                counts[f] = counts.get(f, 0) + 1
        for f in self.set_findings:
            counts[f.rule] = counts.get(f.rule, 0) + 1
        return counts

    def to_dict(self) -> dict:
        return _clean({
            "schema": SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "formcheck_version": self.formcheck_version,
            "created_utc": self.created_utc,
            "video": self.video,
            "model": self.model,
            "exercise": self.exercise,
            "exercise_check": self.exercise_check,
            "camera": self.camera,
            "person": self.person,
            "rep_count": self.rep_count,
            "fault_counts": self.fault_counts(),
            "reps": [r.to_dict() for r in self.reps],
            "attempts": [a.to_dict() for a in self.attempts],
            "set_findings": [f.to_dict() for f in self.set_findings],
            "warnings": list(self.warnings),
            "profile": self.profile,
            "calibration": self.calibration,
            "files": self.files,
        })

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict) -> "Session":
        if d.get("schema") != SCHEMA_ID:
            raise InputError("not a formcheck session result (missing 'schema': "
                             f"'{SCHEMA_ID}')")
        major = str(d.get("schema_version", "0")).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise InputError(f"unsupported result schema version {d.get('schema_version')}")
        return cls(video=d["video"], model=d["model"], exercise=d["exercise"],
                   camera=d["camera"], person=d["person"],
                   reps=[Rep.from_dict(r) for r in d["reps"]],
                   attempts=[Rep.from_dict(r) for r in d["attempts"]],
                   set_findings=[Finding(**f) for f in d["set_findings"]],
                   warnings=list(d["warnings"]), profile=d["profile"],
                   calibration=d["calibration"], files=d.get("files", {}),
                   formcheck_version=d.get("formcheck_version", ""),
                   created_utc=d.get("created_utc", ""),
                   exercise_check=d.get("exercise_check", {}))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Session":
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
        except (KeyError, TypeError) as exc:
            raise InputError(f"{p} is not a valid formcheck result ({exc})") from None


def schema() -> dict:
    """The JSON Schema of a session result."""
    text = resources.files("formcheck").joinpath("schema/session.schema.json").read_text("utf-8")
    return json.loads(text)
