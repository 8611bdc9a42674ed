"""formcheck: computer-vision form analysis for the hip thrust and the glute bridge.

Library API (the CLI, live, batch and review apps are thin layers over it)::

    from formcheck import analyze_video, analyze_track, load_profile, write_outputs, PoseTrack

    analysis = analyze_video("set.mp4", exercise="auto")     # runs the model; writes nothing
    analysis.session.rep_count, [r.faults for r in analysis.session.reps]
    write_outputs(analysis, "runs/", video_path="set.mp4")  # JSON, CSVs, track, video
"""

from __future__ import annotations

__version__ = "0.1.0"

from formcheck.core.rules import EXERCISES, load_profile  # noqa: E402
from formcheck.core.session import Session  # noqa: E402
from formcheck.core.track import PoseTrack  # noqa: E402
from formcheck.errors import ConfigError, FormcheckError, InputError, ModelError  # noqa: E402


def __getattr__(name: str):  # lazy: keep `import formcheck` light (no mediapipe import)
    if name in ("analyze_video", "analyze_track", "reanalyze", "Analysis"):
        from formcheck import analysis

        return getattr(analysis, name)
    if name == "write_outputs":
        from formcheck.sinks.files import write_outputs

        return write_outputs
    raise AttributeError(name)


__all__ = [
    "__version__",
    "analyze_video",
    "analyze_track",
    "reanalyze",
    "Analysis",
    "write_outputs",
    "load_profile",
    "EXERCISES",
    "PoseTrack",
    "Session",
    "FormcheckError",
    "InputError",
    "ModelError",
    "ConfigError",
]
