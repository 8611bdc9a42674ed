"""Angles, sign conventions, side and view on exact synthetic geometry."""

import numpy as np
import pytest

from formcheck.core.geometry import (
    angle_between,
    estimate_geometry,
    signed_shk_angle,
    three_point_angle,
)
from formcheck.core.kinematics import joint_angles
from formcheck.core.silhouette import front_crease, silhouette_arch
from formcheck.core.synthetic import SynthRep, SynthSpec, hip_position, make_track

UP = np.array([0.0, -1.0])  # image y points down


def test_straight_line_is_180():
    s, h, k = np.array([[0.0, 100]]), np.array([[100.0, 100]]), np.array([[200.0, 100]])
    assert signed_shk_angle(s, h, k, UP)[0] == pytest.approx(180.0)


def test_hip_above_line_reads_over_180_and_below_under_180():
    s, k = np.array([[0.0, 100]]), np.array([[200.0, 100]])
    above = np.array([[100.0, 80]])  # smaller y = higher in the image
    below = np.array([[100.0, 120]])
    a_up = signed_shk_angle(s, above, k, UP)[0]
    a_dn = signed_shk_angle(s, below, k, UP)[0]
    assert a_up > 180 and a_dn < 180
    assert a_up - 180 == pytest.approx(180 - a_dn)  # mirror images
    expected = 180 - 2 * np.degrees(np.arctan(20 / 100))
    assert a_dn == pytest.approx(expected)


def test_sign_follows_the_floor_not_the_image():
    # the camera is rolled 90 degrees: the floor runs vertically in the image, "up" is +x
    s, k = np.array([[100.0, 0]]), np.array([[100.0, 200]])
    hip_off_floor = np.array([[120.0, 100]])
    assert signed_shk_angle(s, hip_off_floor, k, np.array([1.0, 0]))[0] > 180
    assert signed_shk_angle(s, hip_off_floor, k, np.array([-1.0, 0]))[0] < 180


@pytest.mark.parametrize("angle", [95.0, 120.0, 150.0, 170.0, 180.0, 190.0, 205.0])
def test_hip_position_reproduces_angle(angle):
    s, k = np.array([0.0, 300]), np.array([400.0, 250])
    h = hip_position(s, k, np.array([angle]), UP)
    got = signed_shk_angle(s[None], h, k[None], UP)[0]
    assert got == pytest.approx(angle, abs=1e-6)


def test_three_point_and_angle_between():
    assert three_point_angle(np.array([[0.0, 0]]), np.array([[1.0, 0]]), np.array([[1.0, 1]]))[
        0
    ] == pytest.approx(90)
    assert angle_between(np.array([1.0, 0]), np.array([-1.0, 0])) == pytest.approx(180)


@pytest.mark.parametrize(
    "facing,head_left", [("left", True), ("right", True), ("left", False), ("right", False)]
)
def test_side_and_angles_either_way_round(facing, head_left):
    track, _ = make_track(
        SynthSpec(
            reps=[SynthRep(peak_deg=185)],
            facing=facing,
            head_on_left=head_left,
            landmark_bias_deg=0.0,
        )
    )
    geom = estimate_geometry(track)
    assert geom.side == facing
    assert geom.view == "side" and geom.floor_source == "feet"
    ang = joint_angles(track.image[..., :2], track.visibility, geom)
    assert np.nanmax(ang.shk_raw_deg) == pytest.approx(185, abs=0.01)
    assert np.nanmin(ang.shk_raw_deg) == pytest.approx(115, abs=0.01)
    assert np.nanmax(ang.torso_to_floor_deg) < 45


def test_frontal_view_is_detected():
    track, _ = make_track(SynthSpec(reps=[SynthRep()]))
    img = track.image.copy()
    # spread left and right landmarks sideways by a full body width in the image
    from formcheck.core.track import LANDMARK_NAMES

    for j, name in enumerate(LANDMARK_NAMES):
        if name.startswith("left_"):
            img[:, j, 0] -= 60
        elif name.startswith("right_"):
            img[:, j, 0] += 60
    world = track.world.copy()
    from dataclasses import replace

    t2 = replace(track, image=img, world=world)
    geom = estimate_geometry(t2)
    assert geom.view in ("oblique", "frontal")
    assert geom.yaw_deg > 30


def test_no_person_geometry():
    from formcheck.core.track import PoseTrack

    geom = estimate_geometry(PoseTrack.empty(30, 30.0, 640, 480))
    assert geom.view == "no_person" and geom.side == "unknown"


def test_silhouette_arch_straight_vs_bowed():
    # 3 frames of a slab lying along the shoulder-hip-knee line: straight; its underside bowed
    # up in the middle (an arched back); straight with an arm lying on the floor under it
    h, w = 260, 460
    xy = np.full((3, 33, 2), np.nan)
    from formcheck.core.track import LM

    for f in range(3):
        xy[f, LM["left_shoulder"]] = (50, 100)
        xy[f, LM["left_hip"]] = (350, 100)
        xy[f, LM["left_knee"]] = (450, 100)
    masks = np.zeros((3, h, w), bool)
    masks[:, 70:130, 30:400] = True
    xs = np.arange(30, 400)
    bow = (25 * np.sin(np.pi * (xs - 30) / 370)).astype(int)
    for x, b in zip(xs, bow):
        masks[1, 130 - b : 130, x] = False
    masks[2, 200:215, 40:360] = True  # the arm on the floor, below a gap
    from formcheck.core.geometry import Geometry

    geom = Geometry("left", np.array([1.0, 0]), UP, "feet", 0.002, 0.0, "side", 1.0)
    arch = silhouette_arch(xy, masks, 1.0, geom)
    assert arch[0] == pytest.approx(0, abs=0.5)
    assert arch[1] > 10  # bowed up by 25 px over a ~300 px chord
    assert arch[2] == pytest.approx(0, abs=0.5)  # the arm is not the back
    # no knee landmark: no estimate
    xy[:, LM["left_knee"]] = np.nan
    assert np.isnan(silhouette_arch(xy, masks, 1.0, geom)).all()


def test_front_crease_belly_above_the_thigh_line():
    # a slab along a straight shoulder-hip-knee line (shoulder at x=50, hip at 350, knee at
    # 550) whose top is flat: 0; the belly part raised by 12 px over the last stretch before
    # the hip: + (atan(12 / d), d = 0.25 * 300 + 0.175 * 200 = 110 px); the thigh part raised
    # instead: -
    h, w = 260, 620
    from formcheck.core.geometry import Geometry
    from formcheck.core.track import LM

    xy = np.full((4, 33, 2), np.nan)
    xy[:, LM["left_shoulder"]] = (50, 100)
    xy[:, LM["left_hip"]] = (350, 100)
    xy[:, LM["left_knee"]] = (550, 100)
    masks = np.zeros((4, h, w), bool)
    masks[:, 70:130, 30:570] = True
    masks[1, 58:70, 230:350] = True  # belly stands up
    masks[2, 58:70, 352:420] = True  # thigh stands up
    masks[3] = masks[0]
    masks[3, 20:55, 200:300] = True  # a hand above the belly, past a gap: not the outline
    geom = Geometry("left", np.array([1.0, 0]), UP, "feet", 0.002, 0.0, "side", 1.0)
    fc = front_crease(xy, masks, 1.0, geom)
    assert fc[0] == pytest.approx(0, abs=0.6)
    assert fc[3] == pytest.approx(0, abs=0.6)
    assert fc[1] == pytest.approx(np.degrees(np.arctan2(12, 110)), abs=1.0)
    assert fc[2] == pytest.approx(-np.degrees(np.arctan2(12, 110)), abs=1.0)
    # the same geometry, but the image turned upside down (floor at the top): same readings
    geom_flip = Geometry("left", np.array([1.0, 0]), -UP, "feet", 0.002, 0.0, "side", 1.0)
    xy_f = xy.copy()
    xy_f[..., 1] = h - 1 - xy_f[..., 1]
    fc_f = front_crease(xy_f, masks[:, ::-1], 1.0, geom_flip)
    assert np.allclose(fc_f, fc, atol=0.6)
    # no mask, or no knee landmark: no estimate
    assert np.isnan(front_crease(xy, None, 1.0, geom)).all()
    xy[:, LM["left_knee"]] = np.nan
    assert np.isnan(front_crease(xy, masks, 1.0, geom)).all()


def test_midline_bias_from_the_silhouette():
    # landmarks on the upper surface of a 60 px thick slab: the angle through the slab's
    # middle at shoulder and hip is what the midline bias compares with
    h, w = 260, 460
    from formcheck.core.geometry import Geometry
    from formcheck.core.silhouette import midline_bias
    from formcheck.core.track import LM

    xy = np.full((1, 33, 2), np.nan)
    xy[0, LM["left_shoulder"]] = (50, 72)  # on top of the slab (rows 70..129)
    xy[0, LM["left_hip"]] = (250, 72)
    xy[0, LM["left_knee"]] = (450, 100)  # knee at mid-depth
    masks = np.zeros((1, h, w), bool)
    masks[0, 70:130, 30:400] = True
    masks[0, 200:215, 40:360] = True  # an arm on the floor must not deepen the body
    geom = Geometry("left", np.array([1.0, 0]), UP, "feet", 0.002, 0.0, "side", 1.0)
    bias = midline_bias(xy, masks, 1.0, geom, np.array([0]))
    from formcheck.core.geometry import signed_shk_angle

    raw = signed_shk_angle(
        xy[:, LM["left_shoulder"]], xy[:, LM["left_hip"]], xy[:, LM["left_knee"]], UP
    )[0]
    mid = signed_shk_angle(
        np.array([[50, 99.5]]), np.array([[250, 99.5]]), np.array([[450, 100]]), UP
    )[0]
    assert raw > 180  # hip landmark above the shoulder-knee line
    assert bias == pytest.approx(raw - mid, abs=1.0)


def test_world_angle_is_3d_and_signed_in_the_world_frame():
    from formcheck.core.kinematics import world_shk_angle
    from formcheck.core.track import LM

    up = np.array([0.0, -1.0])  # image y points down, so "up" is -y
    world = np.zeros((3, 33, 3))
    for side, z in (("left", -0.1), ("right", 0.1)):  # both sides, so the mid-joints lie at z=0
        world[:, LM[f"{side}_hip"]] = (0.0, 0.0, z)
        world[:, LM[f"{side}_shoulder"]] = (-0.5, 0.0, z)
        # knee 30 deg off the straight line, partly out of the image plane (z): a 3-D angle
        world[:, LM[f"{side}_knee"]] = (
            0.4 * np.cos(np.radians(30)),
            0.0,
            z + 0.4 * np.sin(np.radians(30)),
        )
    # frame 1: knee also lower (y down) than the shoulder-hip line -> the hip sits above the
    # shoulder-knee line; frame 2: knee higher -> the hip sags below it
    world[1, [LM["left_knee"], LM["right_knee"]], 1] = 0.2
    world[2, [LM["left_knee"], LM["right_knee"]], 1] = -0.2
    ang = world_shk_angle(world, up)
    assert ang[0] == pytest.approx(180.0, abs=1e-6)  # hip off the line only in depth
    assert ang[1] > 180.0 and ang[2] < 180.0
    assert ang[1] == pytest.approx(360.0 - ang[2], abs=1e-6)  # mirror images
    # a hip straight below the line (offset along -up only) keeps the whole 3-D angle
    world[0] = 0.0
    for side in ("left", "right"):
        world[0, LM[f"{side}_shoulder"]] = (-0.5, -0.1, 0.0)
        world[0, LM[f"{side}_knee"]] = (0.5, -0.1, 0.0)
    theta = np.degrees(2 * np.arctan2(0.5, 0.1))  # the unsigned angle at the hip
    assert world_shk_angle(world, up)[0] == pytest.approx(theta, abs=1e-6)
    assert world_shk_angle(world, -up)[1] < 180.0  # "above" follows the floor normal
    world[1] = np.nan
    assert np.isnan(world_shk_angle(world, up)[1])


def test_bias_model_fuses_image_and_world_angles():
    from formcheck.core.bias import BiasModel

    m = BiasModel(world_weight=0.25)
    out = m.fuse(np.array([180.0, 200.0, 170.0]), np.array([160.0, np.nan, 170.0]))
    assert out.tolist() == [175.0, 200.0, 170.0]  # no world angle: the image angle
    assert BiasModel().fuse(np.array([181.0]), np.array([150.0])).tolist() == [181.0]


def test_each_exercise_has_its_own_calibrated_bias_model():
    """The shipped calibration has one model per exercise, and the analysis of a set uses its
    exercise's model (the landmarks sit differently on a body on a bench and on the floor)."""
    from formcheck.analysis import analyze_track
    from formcheck.core.bias import load_bias_model
    from formcheck.core.rules import EXERCISES

    models = {ex: load_bias_model(ex) for ex in EXERCISES}
    for ex, m in models.items():
        assert m.source.startswith("calibrated"), ex
        assert 0.0 < m.residual_sd_deg < 6.0
    assert models["hip_thrust"] != models["glute_bridge"]
    track, _ = make_track()
    for ex, m in models.items():
        cal = analyze_track(track, ex).session.calibration
        assert cal.bias_model == m.source
        assert cal.bias_deg == pytest.approx(
            m.predict(estimate_geometry(track).yaw_deg, None, None), abs=0.3
        )


def test_bias_model_gain_scales_the_departure_from_straight():
    """With a gain, a landmark angle that shows only part of a departure from 180 deg is
    scaled back out; ``uncorrect`` is its inverse; without one, it is ``raw - bias``."""
    from formcheck.core.bias import BiasModel

    plain = BiasModel()
    assert plain.gain(20.0) == 1.0
    assert plain.correct(np.array([170.0, 190.0]), 5.0, 20.0).tolist() == [165.0, 185.0]
    m = BiasModel(gain_slope=-0.1, gain_yaw_coef=-0.005)
    assert m.gain(20.0) == pytest.approx(0.8)
    assert m.gain(-20.0) == pytest.approx(0.8)  # |yaw|
    assert m.gain(None) == pytest.approx(0.9)
    assert BiasModel(gain_slope=-2.0).gain(0.0) == 0.5  # kept within [0.5, 1.5]
    # a true 150 deg shows as 180 - 0.8 * 30 = 156 deg, plus a 5 deg bias
    assert float(m.correct(161.0, 5.0, 20.0)) == pytest.approx(150.0)
    assert m.correct(185.0, 5.0, 20.0) == pytest.approx(180.0)  # the top is unchanged
    for true in (140.0, 172.5, 205.0):
        assert float(m.correct(m.uncorrect(true, 5.0, 20.0), 5.0, 20.0)) == pytest.approx(true)


def test_analysis_applies_the_bias_models_gain():
    """The file pipeline corrects with the whole model, gain included, and reports the landmark
    angle it started from."""
    from formcheck.analysis import analyze_track
    from formcheck.core.bias import BiasModel

    track, _ = make_track(
        SynthSpec(reps=[SynthRep(peak_deg=165.0), SynthRep()], landmark_bias_deg=10.0)
    )
    plain = analyze_track(track, "hip_thrust", bias_model=BiasModel(intercept_deg=10.0))
    gained = analyze_track(
        track, "hip_thrust", bias_model=BiasModel(intercept_deg=10.0, gain_slope=-0.25)
    )
    p, g = plain.session.reps, gained.session.reps
    assert [r.peak_angle_deg for r in p] == pytest.approx([165.0, 180.0], abs=0.3)
    # a 15 deg departure shown at 0.75 of its size is read as 20 deg; the top stays at 180
    assert [r.peak_angle_deg for r in g] == pytest.approx([160.0, 180.0], abs=0.4)
    assert [r.peak_angle_raw_deg for r in g] == pytest.approx([175.0, 190.0], abs=0.3)


def test_heel_landmark_jump_to_the_far_foot_is_not_a_heel_lift():
    from formcheck.core.measures import heel_jumps, heel_rises
    from formcheck.core.movement import Movement

    fps, n = 30.0, 200
    mvs = [
        Movement(
            start=30 + 50 * k,
            top_start=45 + 50 * k,
            top_end=60 + 50 * k,
            end=75 + 50 * k,
            peak_frame=50 + 50 * k,
            peak_angle_deg=180.0,
            max_angle_deg=181.0,
            bottom_before_deg=110.0,
            bottom_after_deg=110.0,
            is_rep=True,
        )
        for k in range(3)
    ]
    near = np.zeros(n)
    far = np.full(n, 0.15)  # an oblique camera: the far heel appears 15 cm higher
    near[45:61] = 0.15  # rep 1: the near heel landmark lands on the far heel
    near[95:111] = 0.06  # rep 2: a real 6 cm lift
    assert heel_jumps(mvs, near, far, fps) == [True, False, False]
    rises = heel_rises(mvs, near, fps, jumped=heel_jumps(mvs, near, far, fps))
    assert rises[0] == (None, None)
    assert rises[1][0] == pytest.approx(0.06) and rises[2][0] == pytest.approx(0.0)
    # a side view (heels one over the other) cannot tell a jump from a lift: none is called
    same = near.copy()
    same[45:61] = 0.0
    assert heel_jumps(mvs, same, np.zeros(n), fps) == [False, False, False]
    assert heel_jumps(mvs, near, None, fps) == [False, False, False]


def test_impossible_landmark_frames_are_treated_as_no_person():
    from formcheck.analysis import analyze_track
    from formcheck.core.geometry import implausible_frames
    from formcheck.core.track import side_index

    track, truth = make_track(SynthSpec(reps=[SynthRep(), SynthRep()], landmark_bias_deg=0.0))
    clean = analyze_track(track, "hip_thrust").session
    # a failed detection in the lead-in (as when the head is out of the picture): both
    # shoulders land on the hips, which reads as an angle near 0 / 360 and "moves"
    image = track.image.copy()
    bad = np.arange(5, 25)
    for sd in ("left", "right"):
        s, h = side_index(sd, "shoulder"), side_index(sd, "hip")
        image[bad, s, :2] = image[bad, h, :2] + np.array([8.0, 3.0]) * np.sin(bad)[:, None]
    broken = type(track)(
        image=image,
        world=track.world,
        visibility=track.visibility,
        presence=track.presence,
        t_s=track.t_s,
        width=track.width,
        height=track.height,
        fps=track.fps,
    )
    geom = estimate_geometry(track)
    got = implausible_frames(image[..., :2], broken.detected, geom.side, geom.up)
    assert set(np.flatnonzero(got)) == set(bad)
    assert not implausible_frames(track.image[..., :2], track.detected, geom.side, geom.up).any()
    s = analyze_track(broken, "hip_thrust").session
    assert any("impossible landmarks" in w for w in s.warnings)
    assert s.rep_count == clean.rep_count == 2
    assert [round(r.peak_angle_deg, 1) for r in s.reps] == [
        round(r.peak_angle_deg, 1) for r in clean.reps
    ]
    dropped = broken.without_frames(got)
    assert not dropped.detected[
        bad
    ].any() and dropped.detected.sum() == broken.detected.sum() - len(bad)


def test_view_warnings_say_how_to_film():
    # the view reading grows with the camera's height as well as its yaw, so the warning asks
    # for a side view at hip height, not only a side view
    from dataclasses import replace

    from formcheck.core.geometry import Geometry
    from formcheck.core.view import view_warning

    g = Geometry("left", np.array([1.0, 0]), UP, "feet", 0.002, 36.0, "oblique", 1.0)
    w = view_warning(g)
    assert "oblique or high" in w and "36 deg" in w and "hip height" in w
    assert "frontal or from above" in view_warning(replace(g, view="frontal", yaw_deg=70.0))
    assert view_warning(replace(g, view="side", yaw_deg=8.0)) is None
