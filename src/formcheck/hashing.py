"""Content hashes and settings keys (used by ``formcheck batch`` for resume and idempotence).

A video's *key* is the sha256 of a canonical JSON document holding the video's content hash and
every analysis setting that can change its result (see :func:`settings_key`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    """sha256 (hex) of a file's bytes, read in ``chunk``-sized pieces (constant memory)."""
    h = hashlib.sha256()
    with open(Path(path), "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> str:
    """JSON with sorted keys and no whitespace, so equal settings always hash equally."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True, default=str
    )


def settings_key(video_sha256: str, settings: dict) -> str:
    """Identity of one analysis: the video's content hash plus the settings that shape it."""
    return hashlib.sha256(
        canonical_json({"video_sha256": video_sha256, "settings": settings}).encode()
    ).hexdigest()
