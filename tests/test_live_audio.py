"""``formcheck live`` sound and headless output: the shipped voice clips, the spoken queue (one
clip at a time, stale and pre-empted phrases dropped), the rep announcement, the CLI's sound
flags and the line printed per rep without a window. Fast: a fake ``sounddevice``, no model."""

from __future__ import annotations

import sys
import threading
import time
import types
import wave

import numpy as np
import pytest

from formcheck.core.rules import Finding
from formcheck.live import audio, voice
from formcheck.live.audio import PROMPT, REP, Voice
from formcheck.live.engine import Cue


class FakeDevice:
    """A ``sounddevice`` stand-in: records what is played, counts overlapping plays, and can
    hold the first play until :attr:`gate` is set."""

    def __init__(self, play_s: float = 0.0, hold_first: bool = False) -> None:
        self.arrays: list[np.ndarray] = []
        self.active = self.max_active = 0
        self.play_s = play_s
        self.gate = threading.Event()
        self.started = threading.Event()
        self.hold_first = hold_first
        self._lock = threading.Lock()

    def query_devices(self, kind=None):
        return {"name": "fake"}

    def play(self, data, rate, blocking=False):
        assert rate == voice.RATE and blocking
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            first = not self.arrays
            self.arrays.append(data)
        self.started.set()
        if first and self.hold_first:
            self.gate.wait(2.0)
        time.sleep(self.play_s)
        with self._lock:
            self.active -= 1


@pytest.fixture
def device(monkeypatch):
    dev = FakeDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", dev)
    return dev


def _wait_idle(v: Voice, timeout_s: float = 1.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not v.idle() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert v.idle()


def _clips() -> dict[str, np.ndarray]:
    """A short distinct array per phrase (fast fakes for the queue tests)."""
    return {k: np.full(10, i, dtype=np.float32) for i, k in enumerate(voice.PHRASES)}


def _rep(index: int, faults=()):
    findings = [
        Finding(r, "fault", 161.0, "deg", 170.0, "<", 1.0, 30, "cue", "msg") for r in faults
    ]
    return types.SimpleNamespace(
        index=index,
        findings=findings,
        faults=list(faults),
        peak_angle_deg=178.2,
        hold_s=2.14,
        lowering_s=2.41,
    )


# ------------------------------------------------------------------------------ the clips
def test_every_phrase_has_a_short_mono_16k_clip():
    files = {ph.file for ph in voice.PHRASES.values()}
    on_disk = {p.name for p in voice.DIR.glob("*.wav")}
    assert files == on_disk  # make_voice.py writes exactly the index
    for key, ph in voice.PHRASES.items():
        with wave.open(str(voice.DIR / ph.file), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000), key
        clip = voice.load_clip(key)
        assert 0.2 <= len(clip) / voice.RATE <= 2.5, key
        assert 0.5 < np.abs(clip).max() <= 1.0, key  # normalised, not silent
    assert sum((voice.DIR / f).stat().st_size for f in files) < 1_500_000


def test_every_live_cue_and_count_has_a_phrase():
    from formcheck.core.rules import LIVE_RULES

    for r in LIVE_RULES:
        assert r.live_text in voice.PHRASES, r.id
    assert voice.count_key(3) == "three" and voice.count_key(16) is None


# ------------------------------------------------------------------------------ the voice
def test_sag_and_heel_lift_are_different_clips(device):
    v = Voice()
    v.cue(Cue(1.0, 30, "sag", "hips up", "fault", 1))
    _wait_idle(v)
    v.cue(Cue(3.0, 90, "heel_lift", "feet flat", "fault", 2))
    _wait_idle(v)
    v.close()
    assert v.played == ["hips up", "feet flat"]
    sag, heel = device.arrays
    assert np.array_equal(sag, voice.load_clip("hips up"))
    assert sag.shape != heel.shape or not np.array_equal(sag, heel)


def test_one_clip_at_a_time_in_priority_order(monkeypatch):
    dev = FakeDevice(play_s=0.01, hold_first=True)
    monkeypatch.setitem(sys.modules, "sounddevice", dev)
    v = Voice(clips=_clips())
    v.say("hold", PROMPT)
    assert dev.started.wait(1.0)  # "hold" is playing (held), the rest queue up
    v.say("and down", PROMPT)
    v.say("one", REP)
    v.say("good rep", REP)
    dev.gate.set()
    _wait_idle(v)
    for k in ("two", "three", "four"):  # more, back to back
        v.say(k, REP)
    _wait_idle(v)
    v.close()
    assert v.played == ["hold", "one", "good rep", "and down", "two", "three", "four"]
    assert dev.max_active == 1


def test_stale_phrases_are_dropped(monkeypatch):
    dev = FakeDevice(hold_first=True)
    monkeypatch.setitem(sys.modules, "sounddevice", dev)
    now = [0.0]
    v = Voice(clips=_clips(), clock=lambda: now[0])
    v.say("hold", PROMPT)
    assert dev.started.wait(1.0)
    v.say("one", REP)  # queued at 0 s
    now[0] = 2.0  # its turn comes 2 s later: stale
    v.say("two", REP)  # queued at 2 s: fresh
    dev.gate.set()
    _wait_idle(v)
    v.close()
    assert v.played == ["hold", "two"] and v.dropped == ["one"]


def test_a_fault_pre_empts_what_is_queued(monkeypatch):
    dev = FakeDevice(hold_first=True)
    monkeypatch.setitem(sys.modules, "sounddevice", dev)
    v = Voice(clips=_clips())
    v.say("hold", PROMPT)
    assert dev.started.wait(1.0)
    v.say("three", REP)
    v.say("better", REP)
    v.cue(Cue(2.0, 60, "short_hold", "hold longer at the top", "fault", 3))
    dev.gate.set()
    _wait_idle(v)
    v.close()
    assert v.played == ["hold", "hold longer at the top"]
    assert v.dropped == ["three", "better"]


def test_rep_count_then_good_rep_or_better(device):
    v = Voice(clips=_clips())
    for rep in (_rep(1), _rep(2, ["sag"]), _rep(3), _rep(4), _rep(16)):
        v.rep(rep)
        _wait_idle(v)
    v.close()
    assert v.played == ["one", "good rep", "two", "three", "better", "four", "good rep"] + [
        "good rep"  # past fifteen: no count, the verdict only
    ]


def test_hold_prompt_then_and_down_when_held(device):
    v = Voice(clips=_clips())
    v.cue(Cue(1.0, 30, "hold", "hold...", "prompt", 1))
    top = types.SimpleNamespace(phase="top", hold_s=0.5)
    v.frame(top, 2.0)
    top.hold_s = 2.1
    v.frame(top, 2.0)
    v.frame(top, 2.0)  # once per hold
    _wait_idle(v)
    v.close()
    assert v.played == ["hold", "and down"]


def test_voice_without_a_device_is_a_note(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sd(name, *a, **k):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_sd)
    notes = []
    s = audio.make_sound("voice", notes.append)
    s.cue(Cue(1.0, 30, "sag", "hips up", "fault", 1))
    s.rep(_rep(1))
    s.close()
    assert len(notes) == 1 and "no sound device" in notes[0]
    assert isinstance(audio.make_sound("off"), audio.Beeper)
    with pytest.raises(ValueError):
        audio.make_sound("loud")


# ------------------------------------------------------------------------------ app wiring
def test_the_model_thread_announces_and_prints_each_rep():
    from formcheck.live.app import _Worker
    from formcheck.live.capture import Frame, Mailbox
    from formcheck.live.headless import rep_line
    from formcheck.live.state import LiveState

    rep = _rep(3)
    st = LiveState(0, 0.0, None, "right", 178.0, "bottom", 3, None, [], [], None, False)
    st.completed = [rep]
    an = types.SimpleNamespace(update=lambda *a: st, hold_target_s=2.0)
    est = types.SimpleNamespace(process=lambda img, ms: None)
    heard, lines = [], []
    sound = types.SimpleNamespace(
        cue=heard.append, rep=lambda r: heard.append(r.index), frame=lambda st, t: None
    )
    w = _Worker(est, an, Mailbox(), Mailbox(), sound, lambda c: None, 0.0, lines.append)
    w._process(Frame(0, 0.0, np.zeros((48, 64, 3), np.uint8), 0.0))
    assert heard == [3] and lines == [rep]
    assert rep_line(rep) == "rep 3: good  (top 178 deg, hold 2.1 s, lowering 2.4 s)"


def test_rep_line_names_the_fault_and_its_measure():
    from formcheck.live.headless import rep_line

    assert rep_line(_rep(4, ["sag"])) == "rep 4: hips up  (sag: top 161 deg)"
    two = _rep(5, ["hyperextension", "lumbar_arch"])
    assert rep_line(two).startswith("rep 5: ribs down - don't arch  (hyperextension: top ")


@pytest.mark.parametrize(
    "flags, sound",
    [([], "voice"), (["--voice"], "voice"), (["--beeps"], "beeps"), (["--no-audio"], "off")],
)
def test_cli_sound_flags(monkeypatch, flags, sound):
    from click.testing import CliRunner

    import formcheck.live.app as app
    from formcheck.cli.live import command

    got = {}

    class Stop(Exception):
        pass

    def fake_run_live(camera, **kw):
        got.update(kw)
        raise Stop

    monkeypatch.setattr(app, "run_live", fake_run_live)
    res = CliRunner().invoke(command, ["--camera", "x.mp4", "--no-display", *flags])
    assert isinstance(res.exception, Stop), res.output
    assert got["sound"] == sound and got["display"] is False
