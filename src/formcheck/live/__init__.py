"""Live sessions: capture, the model thread and main loop, overlay, sound, results.

``run_live`` is loaded on first use, so ``import formcheck.live.engine`` does not pull in the
camera and window code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from formcheck.live.app import run_live

__all__ = ["run_live"]


def __getattr__(name: str) -> Any:
    if name == "run_live":
        from formcheck.live.app import run_live

        return run_live
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
