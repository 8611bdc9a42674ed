"""Tests for the pose model registry (formcheck.pose.models)."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import struct
import threading
import zipfile
from functools import partial
from pathlib import Path

import pytest

from formcheck.errors import ModelError
from formcheck.pose import models

FAKE_TFLITE = b"\x1c\x00\x00\x00TFL3" + b"\x00" * 56


def make_bundle(path: Path, members=models.BUNDLE_MEMBERS, payload=FAKE_TFLITE) -> Path:
    """Write a small .task-shaped zip (not a working model) to ``path``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name in members:
            zf.writestr(name, payload)
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv(models.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(models.BASE_URL_ENV, raising=False)


# --- bundled model ---------------------------------------------------------------------------


def test_bundled_full_resolves_and_validates():
    for spec in ("full", None, "FULL"):
        path = models.resolve_model(spec)
        assert path.name == models.BUNDLED_FILENAME and path.is_file()
    assert models.resolve_model() == models.check_model_file(path)


def test_bundled_full_matches_pinned_hash():
    info = models.model_info(models.resolve_model("full"))
    assert info["sha256"] == models.BUNDLED_SHA256
    assert info["name"] == "full"
    assert info["size"] == models.resolve_model("full").stat().st_size


def test_bundle_members_are_stored_and_aligned():
    with zipfile.ZipFile(models.resolve_model("full")) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    assert set(infos) == set(models.BUNDLE_MEMBERS)
    raw = models.resolve_model("full").read_bytes()
    for info in infos.values():
        assert info.compress_type == zipfile.ZIP_STORED
        at = info.header_offset
        name_len, extra_len = struct.unpack("<HH", raw[at + 26 : at + 30])
        data_at = at + 30 + name_len + extra_len
        assert data_at % 4 == 0 and raw[data_at + 4 : data_at + 8] == b"TFL3"


def test_model_info_caches_hash(tmp_path, monkeypatch):
    bundle = make_bundle(tmp_path / "x.task")
    first = models.model_info(bundle)
    assert first["name"] == "x"
    assert first["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(models.hashlib, "sha256", lambda *a: calls.append(1) or real(*a))
    assert models.model_info(bundle)["sha256"] == first["sha256"]
    assert not calls


# --- path specs ------------------------------------------------------------------------------


def test_valid_path_spec(tmp_path):
    bundle = make_bundle(tmp_path / "mine.task")
    assert models.resolve_model(bundle) == bundle.resolve()
    assert models.resolve_model(str(bundle)) == bundle.resolve()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d: d / "missing.task", "not found"),
        (lambda d: write(d / "empty.task", b""), "empty"),
        (lambda d: (d / "adir.task").mkdir() or d / "adir.task", "directory"),
        (lambda d: write(d / "notes.task", b"hello, not a model\n"), "not a zip"),
        (
            lambda d: make_bundle(d / "partial.task", members=["pose_detector.tflite"]),
            "pose_landmarks_detector.tflite",
        ),
        (lambda d: make_bundle(d / "badmember.task", payload=b"\x00" * 64), "not a TFLite"),
    ],
    ids=["missing", "zero-byte", "directory", "text", "member-missing", "member-not-tflite"],
)
def test_bad_path_specs(tmp_path, make, match):
    with pytest.raises(ModelError, match=match) as err:
        models.resolve_model(make(tmp_path))
    assert "\n" not in str(err.value)


def test_truncated_zip(tmp_path):
    good = make_bundle(tmp_path / "good.task").read_bytes()
    bad = tmp_path / "truncated.task"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelError):
        models.resolve_model(bad)


def test_corrupt_member_data(tmp_path):
    # Valid zip directory, but the member's data is garbage: reading it must not escape as
    # anything other than ModelError.
    raw = bytearray(make_bundle(tmp_path / "c.task").read_bytes())
    pos = raw.find(b"TFL3")
    raw[pos : pos + 4] = b"XXXX"
    (tmp_path / "c.task").write_bytes(bytes(raw))
    with pytest.raises(ModelError):
        models.resolve_model(tmp_path / "c.task")


def test_unknown_name_lists_valid_names():
    with pytest.raises(ModelError, match="full, lite, heavy"):
        models.resolve_model("medium")


# --- fetched models --------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/www`` on 127.0.0.1; yields (base_url, www_dir)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/pose", www
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def publish_fake_lite(www: Path, tmp_path: Path, monkeypatch, *, pin=None) -> bytes:
    """Put a fake lite bundle on the server and pin its hash (or ``pin``) in the registry."""
    spec = models.REMOTE_MODELS["lite"]
    dest = www / "pose" / spec.url_path
    dest.parent.mkdir(parents=True)
    data = make_bundle(tmp_path / "fake_lite.task").read_bytes()
    dest.write_bytes(data)
    monkeypatch.setitem(
        models.REMOTE_MODELS,
        "lite",
        models.RemoteModel(
            spec.name,
            spec.filename,
            spec.url_path,
            pin or hashlib.sha256(data).hexdigest(),
            len(data),
        ),
    )
    return data


def test_fetch_success(server, tmp_path, monkeypatch):
    base, www = server
    monkeypatch.setenv(models.BASE_URL_ENV, base)
    data = publish_fake_lite(www, tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    path = models.resolve_model("lite")
    assert path == (cache / "pose_landmarker_lite.task").resolve()
    assert path.read_bytes() == data
    assert [p.name for p in cache.iterdir()] == ["pose_landmarker_lite.task"]
    assert models.model_info(path)["name"] == "lite"
    # Second call is served from the cache even with downloads off and the server gone.
    (www / "pose").rename(www / "gone")
    assert models.resolve_model("lite", allow_download=False) == path


def test_fetch_sha_mismatch_leaves_nothing(server, tmp_path, monkeypatch):
    base, www = server
    monkeypatch.setenv(models.BASE_URL_ENV, base)
    publish_fake_lite(www, tmp_path, monkeypatch, pin="0" * 64)
    cache = tmp_path / "other-cache"
    with pytest.raises(ModelError, match="does not match the pinned checksum"):
        models.resolve_model("lite", cache_dir=cache)
    assert list(cache.iterdir()) == []


def test_fetch_oversized_download_refused(server, tmp_path, monkeypatch):
    base, www = server
    monkeypatch.setenv(models.BASE_URL_ENV, base)
    data = publish_fake_lite(www, tmp_path, monkeypatch)
    spec = models.REMOTE_MODELS["lite"]
    monkeypatch.setitem(
        models.REMOTE_MODELS,
        "lite",
        models.RemoteModel(spec.name, spec.filename, spec.url_path, spec.sha256, len(data) - 10),
    )
    with pytest.raises(ModelError, match="pinned checksum"):
        models.resolve_model("lite")
    assert list((tmp_path / "cache").iterdir()) == []


def test_fetch_server_down(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(models.BASE_URL_ENV, f"http://127.0.0.1:{port}/pose")
    with pytest.raises(ModelError, match="place it at") as err:
        models.resolve_model("heavy")
    assert "\n" not in str(err.value)
    assert not any((tmp_path / "cache").glob("*"))


def test_fetch_http_404(server, monkeypatch):
    base, _ = server
    monkeypatch.setenv(models.BASE_URL_ENV, base)
    with pytest.raises(ModelError, match="cannot download"):
        models.resolve_model("heavy")


def test_no_download_when_disabled(tmp_path):
    with pytest.raises(ModelError, match="not in the cache"):
        models.resolve_model("heavy", allow_download=False)


def test_cached_file_with_wrong_hash_is_refused(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    make_bundle(cache / "pose_landmarker_heavy.task")
    with pytest.raises(ModelError, match="expected"):
        models.resolve_model("heavy", allow_download=False)


def test_default_urls_are_versioned():
    for name in ("lite", "heavy"):
        url = models.model_url(name)
        assert url.startswith("https://storage.googleapis.com/mediapipe-models/pose_landmarker/")
        assert "/float16/1/" in url and url.endswith(f"pose_landmarker_{name}.task")
        assert len(models.REMOTE_MODELS[name].sha256) == 64


# --- the bundled model really runs ------------------------------------------------------------


def test_bundled_model_runs_in_poselandmarker_video_mode():
    np = pytest.importorskip("numpy")
    mp = pytest.importorskip("mediapipe")
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(models.resolve_model("full"))),
        running_mode=vision.RunningMode.VIDEO,
        output_segmentation_masks=True,
    )
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        blank = np.zeros((240, 320, 3), np.uint8)
        for i in range(2):
            result = landmarker.detect_for_video(
                mp.Image(image_format=mp.ImageFormat.SRGB, data=blank), i * 33
            )
            assert result.pose_landmarks == []


def test_bundled_model_finds_a_person():
    """Upper-body portrait shipped with matplotlib, if present."""
    np = pytest.importorskip("numpy")
    mp = pytest.importorskip("mediapipe")
    cbook = pytest.importorskip("matplotlib.cbook")
    pil = pytest.importorskip("PIL.Image")
    from mediapipe.tasks.python import BaseOptions, vision

    try:
        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            rgb = np.asarray(pil.open(io.BytesIO(fh.read())).convert("RGB"))
    except Exception:  # noqa: BLE001 - sample data is optional
        pytest.skip("matplotlib sample image not available")
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(models.resolve_model("full"))),
        running_mode=vision.RunningMode.VIDEO,
        output_segmentation_masks=True,
    )
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        result = landmarker.detect_for_video(
            mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)), 0
        )
    assert len(result.pose_landmarks) == 1
    h, w = rgb.shape[:2]
    nose, l_sh, r_sh = (result.pose_landmarks[0][i] for i in (0, 11, 12))
    assert nose.y < l_sh.y and nose.y < r_sh.y  # head above shoulders
    assert r_sh.x < nose.x < l_sh.x  # subject faces the camera
    assert min(nose.visibility, l_sh.visibility, r_sh.visibility) > 0.5
    assert 0.3 * w < nose.x * w < 0.7 * w
    assert result.segmentation_masks[0].numpy_view().shape[:2] == (h, w)
