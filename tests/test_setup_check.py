"""Which exercise a set-up looks like (shoulders on a bench or on the floor): exact geometry,
the analysis's warning and ``auto`` mode, the CLI and batch settings."""

import json

import numpy as np
import pytest

from formcheck.analysis import analyze_track
from formcheck.cli import main
from formcheck.core.rules import resolve_exercise
from formcheck.core.setup_check import (
    BRIDGE_MAX_RISE,
    HIP_THRUST_MIN_RISE,
    check_exercise,
    shoulder_rise,
)
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.core.track import side_index
from formcheck.errors import ConfigError

UP = np.array([0.0, -1.0])  # image y points down


def _pose(rise_thighs: float, side: str = "left", up=UP, thigh_px: float = 200.0):
    """Two frames of pixel positions: near-side hip at the origin, knee one thigh along the
    floor, shoulder ``rise_thighs`` thigh lengths above the hip along ``up``."""
    up = np.asarray(up, float)
    floor = np.array([-up[1], up[0]])
    xy = np.full((2, 33, 2), np.nan)
    hip = np.array([400.0, 300.0])
    xy[:, side_index(side, "hip")] = hip
    xy[:, side_index(side, "knee")] = hip + thigh_px * floor
    xy[:, side_index(side, "shoulder")] = hip - 1.5 * thigh_px * floor + rise_thighs * thigh_px * up
    return xy


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("up", [UP, np.array([1.0, 0.0])])  # level and rolled 90 deg
def test_shoulder_rise_in_thigh_lengths(side, up):
    for rise in (-0.2, 0.0, 0.17, 0.6):
        xy = _pose(rise, side, up)
        assert shoulder_rise(xy, side, up, np.array([0, 1])) == pytest.approx(rise)
    # the far side's landmarks are not used
    assert np.isnan(
        shoulder_rise(
            _pose(0.6, side, up), "right" if side == "left" else "left", up, np.array([0, 1])
        )
    )


def _hidden_hip_pose(shoulder_shins: float, hip_rise_thighs: float) -> np.ndarray:
    """:func:`_pose` with a heel on the floor one shin (180 px) under the knee and the
    shoulder ``shoulder_shins`` shin lengths above it, the hip landmark dragged
    ``hip_rise_thighs`` up (a weight on it)."""
    xy = _pose(0.0)
    knee = xy[0, side_index("left", "knee")]
    heel = knee + np.array([0.0, 180.0])
    xy[:, side_index("left", "ankle")] = heel + np.array([0.0, -10.0])
    xy[:, side_index("left", "heel")] = heel
    xy[:, side_index("left", "shoulder")] = heel + np.array([-300.0, -180.0 * shoulder_shins])
    xy[:, side_index("left", "hip")] += np.array([0.0, -200.0 * hip_rise_thighs])
    return xy


def test_with_the_hip_hidden_the_shoulder_is_read_against_the_floor():
    """Under a weight the hip landmark rides up with it: over the hip a bench set-up reads
    like a bridge, over the heel it still reads as it is."""
    frames = np.array([0, 1])
    bench = _hidden_hip_pose(1.0, 0.6)  # shoulder a shin above the floor, hip dragged up
    floor = _hidden_hip_pose(0.2, 0.1)
    assert check_exercise(bench, "left", UP, frames).looks_like == "glute_bridge"  # fooled
    seen = check_exercise(bench, "left", UP, frames, hip_hidden=True)
    assert seen.looks_like == "hip_thrust" and seen.measure == "shoulder_over_heel"
    assert seen.shoulder_rise == pytest.approx(1.0, abs=0.06)
    assert check_exercise(floor, "left", UP, frames, hip_hidden=True).looks_like == "glute_bridge"
    assert seen.to_dict()["measure"] == "shoulder_over_heel"
    assert seen.to_dict()["hip_thrust_min"] > check_exercise(bench, "left", UP, frames).limits[0]


def test_classification_has_an_undecided_band():
    frames = np.array([0, 1])
    assert check_exercise(_pose(0.6), "left", UP, frames).looks_like == "hip_thrust"
    assert check_exercise(_pose(HIP_THRUST_MIN_RISE), "left", UP, frames).looks_like == "hip_thrust"
    assert check_exercise(_pose(-0.1), "left", UP, frames).looks_like == "glute_bridge"
    assert check_exercise(_pose(BRIDGE_MAX_RISE), "left", UP, frames).looks_like == "glute_bridge"
    mid = (HIP_THRUST_MIN_RISE + BRIDGE_MAX_RISE) / 2
    assert check_exercise(_pose(mid), "left", UP, frames).looks_like is None
    none = check_exercise(_pose(0.6), "left", UP, np.array([], int))  # no movements
    assert none.looks_like is None and none.bottoms == 0


def test_analysis_warns_on_a_mismatch_and_auto_follows_the_set_up():
    track, _ = make_track(SynthSpec(reps=[SynthRep()] * 3))  # shoulders on a bench
    ht = analyze_track(track, "hip_thrust").session
    assert ht.exercise_check.looks_like == "hip_thrust"
    assert ht.exercise_check.source == "given"
    assert not any("looks like" in w for w in ht.warnings)
    gb = analyze_track(track, "glute_bridge").session
    assert gb.exercise == "glute_bridge"
    assert any("looks like a hip thrust" in w and "--exercise hip_thrust" in w for w in gb.warnings)
    auto = analyze_track(track, "auto").session
    assert auto.exercise == "hip_thrust" and auto.exercise_check.source == "detected"
    assert not any("looks like" in w for w in auto.warnings)
    assert auto.rep_count == ht.rep_count == 3


def test_auto_is_settled_by_a_config_that_names_its_exercise(tmp_path):
    cfg = tmp_path / "bridge.toml"
    cfg.write_text('[exercise]\nname = "glute_bridge"\n')
    assert resolve_exercise("auto", cfg) == "glute_bridge"
    assert resolve_exercise("auto", None) == "auto"
    assert resolve_exercise("auto", {"rules": {}}) == "auto"
    bad = tmp_path / "bad.toml"
    bad.write_text('[exercise]\nname = "squat"\n')
    with pytest.raises(ConfigError, match="unknown exercise 'squat'"):
        resolve_exercise("auto", bad)
    with pytest.raises(ConfigError, match="unknown exercise 'deadlift'"):
        resolve_exercise("deadlift")


def test_cli_auto_on_a_saved_track(tmp_path, capsys):
    track, _ = make_track(SynthSpec(reps=[SynthRep()] * 2))
    npz = track.save(tmp_path / "set.track.npz")
    with pytest.raises(SystemExit) as e:
        main(
            [
                "analyze",
                "--track",
                str(npz),
                "--out",
                str(tmp_path / "o"),
                "-e",
                "auto",
                "-q",
                "--no-video",
            ]
        )
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "hip_thrust (auto)" in out
    res = json.loads(next((tmp_path / "o").glob("*.json")).read_text())
    assert res["exercise"] == "hip_thrust" and res["exercise_check"]["source"] == "detected"
    with pytest.raises(SystemExit) as e:
        main(
            [
                "analyze",
                "--track",
                str(npz),
                "--out",
                str(tmp_path / "o2"),
                "-e",
                "glute_bridge",
                "-q",
                "--no-video",
            ]
        )
    assert e.value.code == 0
    captured = capsys.readouterr()
    assert "glute_bridge (!)" in captured.out
    assert "looks like a hip thrust" in captured.err


def test_batch_settings_for_auto_carry_both_profiles():
    from formcheck.batch.run import resolve_settings

    s = resolve_settings("auto", "full", None)
    assert s.exercise == "auto" and set(s.profile) == {"hip_thrust", "glute_bridge"}
    assert (
        resolve_settings("glute_bridge", "full", None).profile["exercise"]["name"] == "glute_bridge"
    )


def test_live_auto_reads_the_set_up_before_the_first_rep():
    """live --exercise auto: the profile is chosen from the set-up frames (before any rep is
    counted) as offline reads the bottoms; a hip thrust when undecided."""
    from types import SimpleNamespace

    from formcheck.core.rules import load_profile
    from formcheck.live.engine import LiveAnalyzer
    from formcheck.live.recalibrate import pick_profile
    from formcheck.pose.estimator import FramePose

    cands = {ex: load_profile(ex) for ex in ("hip_thrust", "glute_bridge")}
    geom = SimpleNamespace(side="left", up=UP)
    assert pick_profile(cands, _pose(0.6), geom)[0].name == "hip_thrust"
    assert pick_profile(cands, _pose(-0.1), geom)[0].name == "glute_bridge"
    assert pick_profile(cands, _pose(0.17), geom)[0].name == "hip_thrust"  # undecided
    # a weight seen at the set-up: the shoulder is read against the heel, as offline
    bench = _hidden_hip_pose(1.0, 0.6)
    assert pick_profile(cands, bench, geom)[0].name == "glute_bridge"  # fooled by the hip
    prof, check = pick_profile(cands, bench, geom, hip_hidden=True)
    assert prof.name == "hip_thrust" and check.measure == "shoulder_over_heel"
    track, _ = make_track(
        SynthSpec(reps=[SynthRep(), SynthRep(peak_deg=160)], width=640, height=480)
    )
    an = LiveAnalyzer(cands["glute_bridge"], track.fps, track.width, track.height, candidates=cands)
    for i in range(track.n_frames):
        fp = FramePose(track.image[i], track.world[i], track.visibility[i], track.presence[i])
        an.update(i, fp, 120.0)
    an.finish()
    assert an.profile.name == "hip_thrust" and an.exercise_check.looks_like == "hip_thrust"
    offline = analyze_track(track, "auto").session
    assert offline.exercise == "hip_thrust"
    assert [r.faults for r in an.reps] == [r.faults for r in offline.reps] == [[], ["sag"]]
