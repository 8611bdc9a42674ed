"""The shared file checks behind every "bad path" error (video, model, track, result, config)."""

import os

import pytest

from formcheck.errors import ConfigError, InputError, ModelError, require_file


def test_require_file_messages(tmp_path):
    ok = tmp_path / "a.mp4"
    ok.write_bytes(b"x")
    assert require_file(ok, "file", "a video file") == ok
    with pytest.raises(InputError, match=r"^file not found: .*nope\.mp4$"):
        require_file(tmp_path / "nope.mp4", "file", "a video file")
    with pytest.raises(ModelError, match=r"is a directory, expected a pose model \.task file$"):
        require_file(tmp_path, "pose model", "a pose model .task file", ModelError)
    empty = tmp_path / "e.toml"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"is empty \(0 bytes\)$"):
        require_file(empty, "file", "a video file")
    assert (
        require_file(empty, "config file", "a TOML config file", ConfigError, allow_empty=True)
        == empty
    )
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is not a regular file$"):
        require_file(fifo, "file", "a video file")


@pytest.mark.parametrize("loader", ["track", "result", "config"])
def test_loaders_share_the_messages(tmp_path, loader):
    from formcheck.core.rules import load_profile
    from formcheck.core.session import Session
    from formcheck.core.track import PoseTrack

    call = {
        "track": PoseTrack.from_npz,
        "result": Session.load,
        "config": lambda p: load_profile("hip_thrust", p),
    }[loader]
    with pytest.raises((InputError, ConfigError), match=" not found: "):
        call(tmp_path / "missing")
    with pytest.raises((InputError, ConfigError), match="is a directory, expected "):
        call(tmp_path)
