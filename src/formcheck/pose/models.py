"""Pose model registry: bundled, fetched-and-verified, or user-supplied ``.task`` bundles.

``resolve_model(spec)`` turns a model spec into a validated path:

* ``"full"`` (default): the bundle shipped with formcheck (rebuilt from Google's Apache-2.0
  BlazePose weights, see ``models/README.md``);
* ``"lite"`` / ``"heavy"``: Google's official bundles, downloaded once into a user cache and
  accepted only if their sha256 matches the pinned value (no trust on first use);
* anything else that looks like a path: a local ``.task`` bundle, checked for structure.

Every failure is a :class:`formcheck.errors.ModelError` with a one-line message.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import threading
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from formcheck.errors import ModelError, require_file

log = logging.getLogger(__name__)

BUNDLED_FILENAME = "pose_landmarker_full.task"
#: sha256 of ``models/pose_landmarker_full.task`` as built by ``models/build_pose_bundle.py``.
BUNDLED_SHA256 = "9e0cb0e7a9e4af02158d080fd6fbca14efaae74756f60d2e24d30cbb80d3bef8"

#: Members every pose ``.task`` bundle must contain.
BUNDLE_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
TFLITE_IDENTIFIER = b"TFL3"

DEFAULT_BASE_URL = "https://storage.googleapis.com/mediapipe-models/pose_landmarker"
BASE_URL_ENV = "FORMCHECK_MODEL_BASE_URL"
CACHE_DIR_ENV = "FORMCHECK_CACHE_DIR"
DOWNLOAD_TIMEOUT_S = 30.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteModel:
    """An official bundle fetched on demand and pinned by size and sha256."""

    name: str
    filename: str
    url_path: str  # relative to the base URL
    sha256: str
    size: int


# Pinned values for the versioned (``float16/1``) objects. They could not be downloaded from
# this build machine; they are the values published independently by many projects that pin
# these exact URLs (see models/README.md, "Fetched models").
REMOTE_MODELS: dict[str, RemoteModel] = {
    "lite": RemoteModel(
        "lite",
        "pose_landmarker_lite.task",
        "pose_landmarker_lite/float16/1/pose_landmarker_lite.task",
        "59929e1d1ee95287735ddd833b19cf4ac46d29bc7afddbbf6753c459690d574a",
        5_777_746,
    ),
    "heavy": RemoteModel(
        "heavy",
        "pose_landmarker_heavy.task",
        "pose_landmarker_heavy/float16/1/pose_landmarker_heavy.task",
        "64437af838a65d18e5ba7a0d39b465540069bc8aae8308de3e318aad31fcbc7b",
        30_664_242,
    ),
}

MODEL_NAMES = ("full", *REMOTE_MODELS)

_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def default_cache_dir() -> Path:
    """Directory for fetched models: ``$FORMCHECK_CACHE_DIR`` or ``~/.cache/formcheck/models``."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return root / "formcheck" / "models"


def model_url(name: str) -> str:
    """Download URL of a fetched model (base overridable with ``$FORMCHECK_MODEL_BASE_URL``)."""
    base = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return f"{base.rstrip('/')}/{REMOTE_MODELS[name].url_path}"


def bundled_model_path() -> Path:
    """Path of the bundled ``full`` model (installed package first, then the source tree)."""
    here = Path(__file__).resolve()
    candidates = (
        here.parents[1] / "models" / BUNDLED_FILENAME,  # wheel: force-included into the package
        here.parents[3] / "models" / BUNDLED_FILENAME,  # editable install / source checkout
    )
    for path in candidates:
        if path.is_file():
            return path
    raise ModelError(
        f"bundled pose model {BUNDLED_FILENAME} is missing (looked in {candidates[0].parent} and "
        f"{candidates[1].parent}); reinstall formcheck or run models/build_pose_bundle.py"
    )


def resolve_model(
    spec: str | os.PathLike | None = "full",
    *,
    cache_dir: Path | None = None,
    allow_download: bool = True,
) -> Path:
    """Return the validated path of the pose model named or pointed to by ``spec``.

    ``spec`` is ``"full"`` (default, also for ``None``), ``"lite"``, ``"heavy"`` or a path to a
    ``.task`` bundle. Fetched models go to ``cache_dir`` (default :func:`default_cache_dir`);
    with ``allow_download=False`` they must already be there. Raises :class:`ModelError`.
    """
    if spec is None:
        spec = "full"
    if isinstance(spec, str):
        name = spec.strip().lower()
        if name == "full":
            return check_model_file(bundled_model_path())
        if name in REMOTE_MODELS:
            return _fetched_model(REMOTE_MODELS[name], cache_dir, allow_download)
    if isinstance(spec, str) and not _looks_like_path(spec):
        raise ModelError(
            f"unknown pose model {spec!r}; valid names are {', '.join(MODEL_NAMES)}, "
            "or give a path to a .task file"
        )
    try:
        path = Path(os.fspath(spec)).expanduser()
    except TypeError:
        raise ModelError(f"invalid pose model spec {spec!r}") from None
    return check_model_file(path)


def _looks_like_path(spec: str) -> bool:
    """True if a string that is not a model name should be treated as a file path."""
    return (
        any(sep in spec for sep in ("/", "\\", os.sep))
        or spec.lower().endswith((".task", ".tflite", ".zip"))
        or spec.startswith(("~", "."))
        or Path(spec).exists()
    )


def check_model_file(path: Path) -> Path:
    """Check that ``path`` is a readable pose ``.task`` bundle; return it absolute.

    The bundle must be a zip holding ``pose_detector.tflite`` and
    ``pose_landmarks_detector.tflite``, each a TFLite flatbuffer (identifier ``TFL3`` at
    bytes 4..8). Raises :class:`ModelError`.
    """
    path = Path(path).expanduser()
    try:
        path = path.resolve()
        require_file(path, "pose model", "a pose model .task file", ModelError)
        if not zipfile.is_zipfile(path):
            raise ModelError(
                f"pose model is not a MediaPipe .task bundle (not a zip archive): {path}"
            )
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [m for m in BUNDLE_MEMBERS if m not in names]
            if missing:
                raise ModelError(
                    f"pose model {path} is not a pose landmarker bundle "
                    f"(missing {', '.join(missing)})"
                )
            for member in BUNDLE_MEMBERS:
                with zf.open(member) as fh:
                    head = fh.read(8)
                if len(head) < 8 or head[4:8] != TFLITE_IDENTIFIER:
                    raise ModelError(f"pose model {path}: {member} is not a TFLite model")
    except ModelError:
        raise
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, ValueError) as exc:
        raise ModelError(f"pose model {path} is unreadable or corrupt: {_one_line(exc)}") from None
    return path


def model_info(path: str | os.PathLike) -> dict:
    """Describe a model file: ``name`` (registry name if its hash is known, else file stem),
    ``path``, ``file``, ``size`` and ``sha256``. The hash is cached per path, mtime and size."""
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError as exc:
        raise ModelError(f"cannot read pose model {p}: {_one_line(exc)}") from None
    digest = _cached_sha256(p, st)
    known = {BUNDLED_SHA256: "full", **{m.sha256: m.name for m in REMOTE_MODELS.values()}}
    return {
        "name": known.get(digest, p.stem),
        "path": str(p),
        "file": p.name,
        "size": st.st_size,
        "sha256": digest,
    }


def _cached_sha256(path: Path, st: os.stat_result | None = None) -> str:
    """sha256 of ``path``, memoised on (path, mtime_ns, size)."""
    st = st or path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _hash_lock:
        hit = _hash_cache.get(key)
    if hit is not None:
        return hit
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                h.update(chunk)
    except OSError as exc:
        raise ModelError(f"cannot read pose model {path}: {_one_line(exc)}") from None
    digest = h.hexdigest()
    with _hash_lock:
        _hash_cache[key] = digest
    return digest


def _fetched_model(model: RemoteModel, cache_dir: Path | None, allow_download: bool) -> Path:
    """Return the cached, hash-verified file for ``model``, downloading it if allowed."""
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache / model.filename
    url = model_url(model.name)
    manual = (
        f"download {url} yourself and place it at {target} "
        "(it must match the pinned sha256), or pass a path to a .task file"
    )
    if target.is_file():
        digest = _cached_sha256(target.resolve())
        if digest == model.sha256:
            return check_model_file(target)
        if not allow_download:
            raise ModelError(
                f"cached pose model {target} has sha256 {digest[:12]}..., expected "
                f"{model.sha256[:12]}... for '{model.name}'; delete it or {manual}"
            )
        log.warning("cached %s does not match its pinned sha256; downloading again", target)
    elif not allow_download:
        raise ModelError(
            f"pose model '{model.name}' is not in the cache and downloads are off; {manual}"
        )
    _download(url, target, model, manual)
    return check_model_file(target)


def _download(url: str, target: Path, model: RemoteModel, manual: str) -> None:
    """Fetch ``url`` into ``target`` atomically, refusing anything but the pinned bytes."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
    except OSError as exc:
        raise ModelError(f"cannot write to model cache {target.parent}: {_one_line(exc)}") from None
    tmp = Path(tmp_name)
    log.info("downloading pose model '%s' from %s", model.name, url)
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            req = urllib.request.Request(url, headers={"User-Agent": "formcheck"})
            with urllib.request.urlopen(req, timeout=DOWNLOAD_TIMEOUT_S) as resp:
                while chunk := resp.read(_CHUNK):
                    size += len(chunk)
                    if size > model.size:
                        break  # larger than the pinned object: no point reading further
                    h.update(chunk)
                    out.write(chunk)
        if size != model.size or h.hexdigest() != model.sha256:
            got = f"{size} bytes" if size != model.size else f"sha256 {h.hexdigest()[:12]}..."
            raise ModelError(
                f"downloaded pose model '{model.name}' from {url} does not match the pinned "
                f"checksum ({got}; expected {model.size} bytes, sha256 {model.sha256[:12]}...); "
                "nothing was saved"
            )
        os.replace(tmp, target)
    except ModelError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise ModelError(
            f"cannot download pose model '{model.name}' ({_one_line(exc)}); {manual}"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _one_line(exc: BaseException) -> str:
    """A compact single-line description of ``exc``."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
