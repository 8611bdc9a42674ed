"""Render exactly labelled hip-thrust / glute-bridge clips from a spec.

    python -m benchmarks.synth.generate SPEC.toml --out DIR [--only NAME ...] [--jobs N]
    python benchmarks/synth/generate.py SPEC.json --out DIR

A spec file holds one clip (top-level keys) or many (``[[clip]]`` tables, with an
optional ``[defaults]`` table merged under each).  See README.md for the keys and
the label schema.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "benchmarks.synth"

import numpy as np

from .body import Body, PoseState
from .gym import Walker, apply_frame, clutter_boxes, drift_matrix, move_points, resolve_gym
from .load import LoadModel, resolve_load
from .motion import label_rep, plan_reps, schedule, tempo_model
from .render import BodyPainter, Camera, Scene, downsample, vertex_colors

LABEL_VERSION = 2  # 2: `load` and the per-frame load position (absent in 1 = unloaded)
JOINT_NAMES = [
    f"{j}_{s}" for j in ("shoulder", "hip", "knee", "ankle", "heel") for s in ("left", "right")
]

PALETTE_SHIRT = [
    [40, 90, 160],
    [200, 40, 50],
    [30, 30, 35],
    [235, 235, 235],
    [70, 140, 90],
    [240, 150, 40],
    [120, 70, 150],
    [90, 90, 95],
    [20, 120, 140],
    [230, 120, 160],
]
PALETTE_SHORTS = [
    [30, 30, 35],
    [50, 55, 80],
    [110, 110, 115],
    [20, 40, 80],
    [70, 50, 40],
    [160, 30, 40],
]
SKIN = [
    [240, 200, 175],
    [224, 180, 150],
    [198, 145, 110],
    [160, 110, 80],
    [115, 75, 50],
    [85, 55, 40],
]
HAIR = [[30, 25, 20], [60, 40, 25], [110, 75, 40], [170, 140, 90], [90, 90, 90]]
SHOES = [[240, 240, 240], [30, 30, 30], [200, 60, 50], [60, 80, 150], [150, 150, 150]]
WALLS = [
    [205, 200, 190],
    [180, 190, 200],
    [220, 215, 200],
    [150, 160, 150],
    [120, 120, 125],
    [200, 180, 160],
]
FLOORS = [[150, 110, 75], [120, 85, 55], [175, 140, 100], [90, 90, 95], [110, 110, 100]]
MATS = [[60, 90, 140], [120, 60, 120], [40, 110, 90], [50, 50, 55], [170, 60, 60]]


def deep_merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_specs(path: str) -> list[dict]:
    p = Path(path)
    if p.suffix == ".json":
        data = json.loads(p.read_text())
    else:
        import tomllib

        data = tomllib.loads(p.read_text())
    if "clip" in data:
        d = data.get("defaults", {})
        return [deep_merge(d, c) for c in data["clip"]]
    return [data]


def resolve_phenotype(body_spec: dict) -> dict:
    """anny phenotype kwargs; `stature_m` is converted to anny's `height`."""
    ph = {
        k: float(body_spec[k])
        for k in ("gender", "age", "muscle", "weight", "height", "proportions")
        if k in body_spec
    }
    ph.setdefault("age", 0.75)
    ph.setdefault("gender", 0.0)
    if "stature_m" in body_spec and "height" not in body_spec:
        import torch

        from .body import get_model

        m = get_model()
        P = torch.eye(4)[None, None].repeat(1, m.bone_count, 1, 1)

        def stature(h):
            with torch.no_grad():
                v = m(pose_parameters=P, phenotype_kwargs={**ph, "height": h})["vertices"][0, :, 2]
            return float(v.max() - v.min())

        lo, hi, target = 0.0, 1.0, float(body_spec["stature_m"])
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if stature(mid) < target:
                lo = mid
            else:
                hi = mid
        ph["height"] = round(0.5 * (lo + hi), 5)
    return ph


def pick(rng, pal):
    return list(pal[int(rng.integers(len(pal)))])


def render_clip(spec: dict, out_dir: Path, verbose=True) -> dict:
    t0 = time.time()
    name = spec["name"]
    seed = int(spec.get("seed", 0))
    rng = np.random.default_rng(seed)
    exercise = spec.get("exercise", "hip_thrust")
    vid = spec.get("video", {})
    W, H = int(vid.get("width", 960)), int(vid.get("height", 540))
    fps = float(vid.get("fps", 30))
    out_dir.mkdir(parents=True, exist_ok=True)
    mp4 = out_dir / f"{name}.mp4"

    if spec.get("empty_scene"):
        return _render_empty(spec, out_dir, rng, W, H, fps)

    scene_spec = spec.get("scene", {})
    gym = resolve_gym(spec.get("gym"), seed)
    bench_h = float(scene_spec.get("bench_height", rng.uniform(0.40, 0.45)))
    phenotype = resolve_phenotype(spec.get("body", {}))
    load = resolve_load(spec.get("load"), seed)
    load_model = LoadModel(load) if load["kind"] != "none" else None
    body = Body(
        phenotype,
        exercise,
        bench_height=bench_h,
        arms=spec.get("body", {}).get("arms"),
        load=load_model,
    )
    body.place_feet(float(spec.get("body", {}).get("knee_top_deg", rng.uniform(86, 94))))
    tempo = spec.get("tempo", {})
    clearance = 0.03 if exercise == "hip_thrust" else 0.0
    floor_bottom = body.find_bottom(clearance)
    default_bottom = rng.uniform(98, 106) if exercise == "hip_thrust" else floor_bottom
    bottom = max(floor_bottom, float(tempo.get("bottom_deg", default_bottom)))
    tmodel = tempo_model(tempo)
    if tmodel["bounce_deg"] > 0:
        # the bounce must not take the buttocks (or a load) through the floor: raise the
        # set-up bottom if needed so that the lowest point of the bounce touches it
        floor0 = body.find_bottom(0.0) if clearance > 0 else floor_bottom
        tmodel["bounce_floor_deg"] = round(floor0, 3)
        bottom = max(bottom, floor0 + tmodel["bounce_deg"])

    plans = plan_reps(spec, rng)
    sch = schedule(
        plans,
        fps,
        bottom,
        float(tempo.get("lead_in_s", 2.0)),
        float(tempo.get("lead_out_s", 1.5)),
        rng,
        model=tmodel,
    )
    T = len(sch.t)

    # ---- camera
    cs = spec.get("camera", {})
    side = cs.get("side", "left")
    sx = 1.0 if side == "left" else -1.0
    yaw = float(cs.get("yaw_deg", 0.0))
    hfov = float(cs.get("hfov_deg", 55.0))
    # a load on the hips reaches higher than the body: aim higher so that it stays in frame
    load_lift = {"barbell": 0.15, "dumbbell": 0.08, "plate": 0.08}.get(load["kind"], 0.0)
    head_y = body.pivot_world[1] + (0.50 if exercise == "hip_thrust" else 0.42)
    feet_y = body.ball_world_y - 0.12
    span = head_y - feet_y
    tgt = np.array(
        [
            0.0,
            0.5 * (head_y + feet_y) + float(cs.get("target_dy", 0.0)),
            float(cs.get("target_z", (0.32 if exercise == "hip_thrust" else 0.2) + load_lift)),
        ]
    )
    fill = float(cs.get("fill", 0.62))
    dist = float(cs.get("distance_m", span / (fill * 2 * math.tan(math.radians(hfov) / 2))))
    cam_h = float(cs.get("height_m", 0.7))
    yr = math.radians(yaw)
    horiz = math.sqrt(max(dist**2 - (cam_h - tgt[2]) ** 2, 0.5**2))
    pos = tgt + np.array([sx * horiz * math.cos(yr), horiz * math.sin(yr), 0.0])
    pos[2] = cam_h
    cam = Camera.look_at(W, H, pos, tgt, hfov)
    pitch = math.degrees(math.atan2(cam_h - tgt[2], horiz))

    # ---- scene + clothes
    light_az = math.radians(float(scene_spec.get("light_azimuth_deg", rng.uniform(-60, 60))))
    light_el = math.radians(float(scene_spec.get("light_elevation_deg", rng.uniform(35, 70))))
    ldir = [
        sx * math.cos(light_el) * math.cos(light_az),
        math.cos(light_el) * math.sin(light_az),
        math.sin(light_el),
    ]
    cfg = dict(
        light_dir=ldir,
        wall_rgb=scene_spec.get("wall_rgb", pick(rng, WALLS)),
        camera_x_sign=sx,
        wall_dist=float(scene_spec.get("wall_distance_m", rng.uniform(1.0, 2.2))),
        plank_width=float(scene_spec.get("plank_width_m", rng.uniform(0.12, 0.25))),
        floor_rgb=scene_spec.get("floor_rgb", pick(rng, FLOORS)),
    )
    if exercise == "glute_bridge" and scene_spec.get("mat", True):
        cfg["mat"] = [-0.32, 0.32, feet_y - 0.15, head_y + 0.25]
        cfg["mat_rgb"] = scene_spec.get("mat_rgb", pick(rng, MATS))
    cfg["clutter"] = clutter_boxes(gym, sx, cfg["wall_dist"], (feet_y, head_y))
    if exercise == "hip_thrust":
        cfg["bench"] = dict(
            y0=-0.03,
            depth=float(scene_spec.get("bench_depth_m", rng.uniform(0.3, 0.42))),
            width=float(scene_spec.get("bench_width_m", rng.uniform(0.9, 1.3))),
            height=bench_h,
            rgb=scene_spec.get(
                "bench_rgb", pick(rng, [[40, 40, 45], [120, 30, 30], [30, 50, 100], [90, 60, 40]])
            ),
        )
    scene = Scene(cam, cfg, np.random.default_rng(seed + 1))
    cl = spec.get("clothes", {})
    clothes = dict(
        skin=cl.get("skin", pick(rng, SKIN)),
        shirt=cl.get("shirt", pick(rng, PALETTE_SHIRT)),
        shorts=cl.get("shorts", pick(rng, PALETTE_SHORTS)),
        shoes=cl.get("shoes", pick(rng, SHOES)),
        hair=cl.get("hair", pick(rng, HAIR)),
        socks=cl.get("socks", [235, 235, 235]),
        shorts_len=float(cl.get("shorts_len", rng.uniform(0.3, 0.9))),
        sleeve=float(cl.get("sleeve", rng.uniform(0.05, 0.2))),
    )
    painter = BodyPainter(body.faces, vertex_colors(body, clothes), ldir)
    brightness = float(scene_spec.get("exposure", rng.uniform(0.9, 1.1)))
    walker = walker_painter = None
    if "walker" in gym:
        walker = Walker(gym["walker"], sx, cfg["wall_dist"], (feet_y, head_y), fps)
        walker_painter = BodyPainter(walker.faces, walker.rgb, ldir)
    noise_rng = np.random.default_rng(gym.get("noise_seed", 0))

    # ---- frames
    per = {
        k: np.zeros(T)
        for k in ("shk", "unsigned_l", "unsigned_r", "lumbar", "heel", "knee", "min_z")
    }
    j2d = np.zeros((T, len(JOINT_NAMES), 2))
    j3d = np.zeros((T, len(JOINT_NAMES), 3))
    lpf = {k: np.zeros((T, n)) for k, n in (("c3", 3), ("c2", 2), ("n2", 2), ("r", 1), ("bb", 4))}
    grip_gap = 0.0
    writer = _open_writer(mp4, W, H, fps, int(gym.get("crf", vid.get("crf", 23))))
    writer.send(None)
    t_pose = t_draw = 0.0
    neck_base = 5.0 if exercise == "hip_thrust" else 0.0
    for i in range(T):
        a = time.time()
        st = PoseState(
            float(sch.shk[i]),
            float(sch.lumbar[i]),
            float(sch.heel[i]),
            neck_base + (18.0 * sch.progress[i] if exercise == "hip_thrust" else 0.0),
        )
        p = body.pose(st)
        b = time.time()
        img = scene.bg.copy()
        wv = walker.vertices(float(sch.t[i])) if walker is not None else None
        if wv is not None:  # behind the lifter: drawn first
            walker_painter.draw(img, cam, wv)
        extra = load_model.world(p.load, cam.pos) if load_model is not None else None
        painter.draw(img, cam, p.vertices, extra=extra)
        img = downsample(img)
        if brightness != 1.0:
            img = np.clip(img.astype(np.float32) * brightness, 0, 255).astype(np.uint8)
        drift = drift_matrix(gym, float(sch.t[i]), W, H)
        if gym:
            img = apply_frame(img, gym, drift, noise_rng)
        writer.send(np.ascontiguousarray(img))
        c = time.time()
        t_pose += b - a
        t_draw += c - b
        per["shk"][i], per["unsigned_l"][i], per["unsigned_r"][i] = (
            p.shk_deg,
            p.shk_left,
            p.shk_right,
        )
        per["lumbar"][i], per["heel"][i], per["knee"][i], per["min_z"][i] = (
            p.lumbar_deg,
            p.heel_lift_m,
            p.knee_deg,
            p.min_z,
        )
        P3 = np.array([p.joints[n] for n in JOINT_NAMES])
        j3d[i] = P3
        j2d[i] = move_points(cam.project(P3)[0], drift)
        if load_model is not None:
            c3 = load_model.centre(p.load)
            nc = load_model.near_centre(p.load, sx)
            (c2, n2), zz = cam.project(np.stack([c3, nc]))
            buv = move_points(cam.project(extra[0].reshape(-1, 3))[0], drift)
            c2, n2 = move_points(np.stack([c2, n2]), drift)
            lpf["c3"][i], lpf["c2"][i], lpf["n2"][i] = c3, c2, n2
            lpf["r"][i] = cam.f * load_model.radius / zz[1]
            lpf["bb"][i] = [*buv.min(0), *buv.max(0)]
            grip_gap = max(grip_gap, p.grip_gap_m)
        if verbose and i % 200 == 0:
            print(f"  {name}: frame {i}/{T}  shk={p.shk_deg:.1f}", file=sys.stderr, flush=True)
    writer.close()

    reps, attempts = [], []
    for k, w in enumerate(sch.windows):
        kind, lab = label_rep(
            k,
            w,
            fps,
            per["shk"],
            per["lumbar"],
            per["heel"],
            per["knee"],
            per["unsigned_l"],
            per["unsigned_r"],
        )
        if kind == "rep":
            lab["index"] = len(reps)
            reps.append(lab)
        else:
            lab["index"] = len(attempts)
            attempts.append(lab)
    in_frame = bool(
        ((j2d[..., 0] >= 0) & (j2d[..., 0] < W) & (j2d[..., 1] >= 0) & (j2d[..., 1] < H)).all()
    )
    bb = lpf["bb"]
    load_in_frame = bool(
        ((bb[:, 0] >= 0) & (bb[:, 1] >= 0) & (bb[:, 2] < W) & (bb[:, 3] < H)).all()
    )
    label = {
        "label_version": LABEL_VERSION,
        "video": mp4.name,
        "name": name,
        "exercise": exercise,
        "split": spec.get("split"),
        "fps": fps,
        "width": W,
        "height": H,
        "frames": T,
        "duration_s": round(T / fps, 4),
        "camera_side": side,
        "angle_definition": "signed SHK angle of the bilateral joint-centre midpoints (mid-shoulder = mean of "
        "upperarm01 heads, mid-hip = mean of upperleg01 heads, mid-knee = mean of lowerleg01 "
        "heads) in the sagittal plane; >180 = hips above the shoulder-knee line",
        "phenotype": {**phenotype, "stature_m": round(body.stature_m, 4)},
        "body": {
            "thigh_m": round(body.Lf, 4),
            "shank_m": round(body.Ls, 4),
            "knee_top_deg": round(body.knee_top_deg, 2),
            "bottom_deg": round(bottom, 3),
            "floor_bottom_deg": round(floor_bottom, 3),
        },
        "tempo_model": tmodel,
        "camera": {
            "position": [round(float(x), 4) for x in cam.pos],
            "target": [round(float(x), 4) for x in tgt],
            "height_m": cam_h,
            "distance_m": round(dist, 4),
            "yaw_deg": yaw,
            "pitch_deg": round(pitch, 3),
            "hfov_deg": hfov,
            "focal_px": round(cam.f, 3),
            "K": cam.K.round(4).tolist(),
            "R_world_to_cam": cam.R.round(6).tolist(),
        },
        "scene": {
            "bench_height_m": bench_h if exercise == "hip_thrust" else None,
            "light_dir": [round(x, 4) for x in ldir],
            "clothes": clothes,
        },
        "seed": seed,
        "spec": spec,
        "gym": gym,
        "load": (
            {**load, "max_grip_gap_m": round(grip_gap, 4), "in_frame": load_in_frame}
            if load_model
            else load
        ),
        "all_joints_in_frame": in_frame,
        "min_body_z_m": round(float(per["min_z"].min()), 4),
        "reps": reps,
        "attempts": attempts,
        "per_frame": {
            "t_s": np.round(sch.t, 5).tolist(),
            "shk_angle_3d_deg": np.round(per["shk"], 3).tolist(),
            "shk_angle_3d_unsigned_left_deg": np.round(per["unsigned_l"], 3).tolist(),
            "shk_angle_3d_unsigned_right_deg": np.round(per["unsigned_r"], 3).tolist(),
            "knee_angle_3d_deg": np.round(per["knee"], 3).tolist(),
            "lumbar_extension_deg": np.round(per["lumbar"], 3).tolist(),
            "heel_lift_m": np.round(per["heel"], 4).tolist(),
            "joints_2d": {n: np.round(j2d[:, k], 1).tolist() for k, n in enumerate(JOINT_NAMES)},
            "joints_3d": {n: np.round(j3d[:, k], 4).tolist() for k, n in enumerate(JOINT_NAMES)},
            **(
                {
                    "load_center_2d": np.round(lpf["c2"], 1).tolist(),
                    "load_near_center_2d": np.round(lpf["n2"], 1).tolist(),
                    "load_radius_px": np.round(lpf["r"][:, 0], 1).tolist(),
                    "load_bbox_2d": np.round(lpf["bb"], 1).tolist(),
                    "load_center_3d": np.round(lpf["c3"], 4).tolist(),
                }
                if load_model is not None
                else {}
            ),
        },
        "render": {
            "seconds": round(time.time() - t0, 2),
            "pose_s_per_frame": round(t_pose / T, 4),
            "draw_encode_s_per_frame": round(t_draw / T, 4),
        },
    }
    _write_label(out_dir / f"{name}.label.json", label)
    if verbose:
        print(
            f"{name}: {T} frames {W}x{H}@{fps:g} in {time.time() - t0:.1f}s "
            f"({1000 * (t_pose + t_draw) / T:.0f} ms/frame), reps={len(reps)} attempts={len(attempts)}"
            f", load={load['kind']}",
            file=sys.stderr,
            flush=True,
        )
    return label


def _write_label(path: Path, label: dict):
    # compact per-frame arrays, readable top level
    pf = label.pop("per_frame")
    txt = json.dumps(label, indent=1)
    txt = txt[:-2] + ',\n "per_frame": ' + json.dumps(pf, separators=(",", ":")) + "\n}\n"
    path.write_text(txt)
    label["per_frame"] = pf


def _open_writer(path: Path, W, H, fps, crf):
    import imageio_ffmpeg

    return imageio_ffmpeg.write_frames(
        str(path),
        (W, H),
        fps=fps,
        codec="libx264",
        pix_fmt_in="bgr24",
        pix_fmt_out="yuv420p",
        quality=None,
        macro_block_size=2,
        ffmpeg_log_level="error",
        output_params=[
            "-crf",
            str(crf),
            "-preset",
            "medium",
            "-movflags",
            "+faststart",
            "-threads",
            "1",
        ],
    )


def _render_empty(spec, out_dir, rng, W, H, fps):
    name = spec["name"]
    secs = float(spec.get("duration_s", 3.0))
    T = int(round(secs * fps))
    cam = Camera.look_at(W, H, [2.8, -0.4, 0.7], [0, -0.4, 0.3], 60)
    cfg = dict(
        light_dir=[0.5, 0.2, 1.0],
        wall_rgb=pick(rng, WALLS),
        camera_x_sign=1.0,
        wall_dist=1.5,
        plank_width=0.18,
        floor_rgb=pick(rng, FLOORS),
        bench=dict(y0=-0.03, depth=0.38, width=1.1, height=0.42, rgb=[40, 40, 45]),
    )
    img = downsample(Scene(cam, cfg, rng).bg)
    w = _open_writer(out_dir / f"{name}.mp4", W, H, fps, int(spec.get("video", {}).get("crf", 23)))
    w.send(None)
    for _ in range(T):
        w.send(np.ascontiguousarray(img))
    w.close()
    label = {
        "label_version": LABEL_VERSION,
        "video": f"{name}.mp4",
        "name": name,
        "exercise": None,
        "split": spec.get("split"),
        "fps": fps,
        "width": W,
        "height": H,
        "frames": T,
        "duration_s": T / fps,
        "camera_side": None,
        "phenotype": None,
        "camera": {"position": cam.pos.tolist(), "hfov_deg": 60, "focal_px": cam.f},
        "seed": int(spec.get("seed", 0)),
        "spec": spec,
        "reps": [],
        "attempts": [],
        "per_frame": None,
    }
    (out_dir / f"{name}.label.json").write_text(json.dumps(label, indent=1) + "\n")
    return label


def _worker(args):
    spec, out = args
    try:
        render_clip(spec, Path(out))
        return spec["name"], None
    except Exception as e:  # keep the batch going
        import traceback

        traceback.print_exc()
        return spec["name"], repr(e)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("spec")
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", help="render only these clip names")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--skip-existing", action="store_true")
    a = ap.parse_args(argv)
    specs = load_specs(a.spec)
    if a.only:
        specs = [s for s in specs if s["name"] in a.only]
    out = Path(a.out)
    if a.skip_existing:
        specs = [s for s in specs if not (out / f"{s['name']}.label.json").exists()]
    jobs = [(s, str(out)) for s in specs]
    if a.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(a.jobs) as pool:
            res = list(pool.imap_unordered(_worker, jobs))
    else:
        res = [_worker(j) for j in jobs]
    bad = [r for r in res if r[1]]
    for n, e in bad:
        print(f"FAILED {n}: {e}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
