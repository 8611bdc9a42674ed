"""A busy gym around the set (issue 18): clutter, a second person walking through, low light
with sensor noise, heavy compression and a handheld camera's drift.

A clip's ``gym`` table names the factors (``factors = ["walker", "clutter", "dark",
"compressed", "drift"]``, or ``"all"``); every unset value is drawn from
``default_rng([seed, GYM_STREAM])``, so the body, camera, load and tempo draws of the clip seed
are those of the same clip without them. :func:`resolve_gym` gives the values the label
records:

- ``clutter``: boxes (plyo boxes, a rack's posts, dumbbells on the floor, a bag) along the wall
  behind the lifter, drawn into the static background;
- ``walker``: a second anny body walking along the wall behind the lifter, through the picture,
  legs and arms swinging, drawn before the lifter (so the lifter hides it where they overlap);
- ``dark``: exposure 0.40–0.65 and Gaussian sensor noise (SD 4–10 grey levels) on every frame;
- ``compressed``: the video's x264 CRF raised to 33–38 (a phone's messaging app);
- ``drift``: the camera held by hand: the picture shifts (up to 1.5 % of its width) and turns
  (up to 1.5°) slowly and smoothly, as an image-plane similarity applied after rendering (with a
  4 % zoom so no border shows); the label's 2-D points are moved with it.
"""

from __future__ import annotations

import math

import numpy as np

GYM_STREAM = 0x6E11
FACTORS = ("walker", "clutter", "dark", "compressed", "drift")


def resolve_gym(spec: dict | None, seed: int) -> dict:
    """The factor values of a clip's ``gym`` table (see the module docstring); ``{}`` without
    one."""
    if not spec:
        return {}
    rng = np.random.default_rng([int(seed), GYM_STREAM])
    names = spec.get("factors", [])
    names = list(FACTORS) if names == "all" or names == ["all"] else list(names)
    out: dict = {"factors": names}
    if "clutter" in names:
        out["clutter"] = int(spec.get("clutter", rng.integers(4, 8)))
        out["clutter_seed"] = int(rng.integers(1 << 30))
    if "walker" in names:
        out["walker"] = {
            "start_s": float(spec.get("walker_start_s", rng.uniform(0.5, 4.0))),
            "speed_mps": float(spec.get("walker_speed_mps", rng.uniform(0.9, 1.4))),
            "direction": int(spec.get("walker_direction", rng.choice([-1, 1]))),
            "depth_m": float(spec.get("walker_depth_m", rng.uniform(0.3, 0.6))),
            "gender": float(rng.uniform(0, 1)),
            "weight": float(rng.uniform(0.2, 0.8)),
            "shirt": [int(c) for c in rng.integers(30, 220, 3)],
            "trousers": [int(c) for c in rng.integers(20, 120, 3)],
        }
    if "dark" in names:
        out["exposure"] = float(spec.get("exposure", rng.uniform(0.40, 0.65)))
        out["noise_sd"] = float(spec.get("noise_sd", rng.uniform(4.0, 10.0)))
        out["noise_seed"] = int(rng.integers(1 << 30))
    if "compressed" in names:
        out["crf"] = int(spec.get("crf", rng.integers(33, 39)))
    if "drift" in names:
        out["drift"] = {
            "shift": float(spec.get("drift_shift", rng.uniform(0.006, 0.015))),
            "turn_deg": float(spec.get("drift_turn_deg", rng.uniform(0.5, 1.5))),
            "periods_s": [float(p) for p in rng.uniform(2.5, 7.0, 3)],
            "phases": [float(p) for p in rng.uniform(0, 2 * math.pi, 3)],
        }
    return out


def clutter_boxes(gym: dict, camera_x_sign: float, wall_dist: float, span_y: tuple) -> list:
    """Boxes ``(x range, y range, z range, rgb)`` (metres, world frame) standing on the floor
    between the lifter and the wall, spread along the body's axis over ``span_y``."""
    n = gym.get("clutter", 0)
    if not n:
        return []
    rng = np.random.default_rng(gym["clutter_seed"])
    wall_x = -camera_x_sign * wall_dist
    out = []
    for _ in range(n):
        kind = rng.choice(["plyo", "post", "dumbbell", "bag"])
        w, d, h = {
            "plyo": (rng.uniform(0.4, 0.6), rng.uniform(0.5, 0.75), rng.uniform(0.3, 0.6)),
            "post": (0.06, 0.06, rng.uniform(1.6, 2.2)),
            "dumbbell": (rng.uniform(0.25, 0.4), rng.uniform(0.1, 0.2), rng.uniform(0.1, 0.2)),
            "bag": (0.35, 0.35, rng.uniform(0.8, 1.1)),
        }[str(kind)]
        # from the wall to 0.45 m of it: behind the lifter, who lies at |x| < 0.35
        x_in = wall_x + camera_x_sign * rng.uniform(0.02, max(0.05, wall_dist - 0.45 - w))
        xr = tuple(sorted((x_in, x_in + camera_x_sign * w)))
        y0 = rng.uniform(span_y[0] - 1.0, span_y[1] + 1.0)
        rgb = [int(c) for c in rng.integers(20, 200, 3)]
        out.append((xr, (y0, y0 + d), (0.0, h), rgb))
    return out


def drift_matrix(gym: dict, t_s: float, width: int, height: int) -> np.ndarray | None:
    """The 2x3 image-plane similarity of the handheld drift at time ``t_s`` (None without)."""
    d = gym.get("drift")
    if not d:
        return None
    p, ph = d["periods_s"], d["phases"]
    dx = d["shift"] * width * math.sin(2 * math.pi * t_s / p[0] + ph[0])
    dy = d["shift"] * width * math.sin(2 * math.pi * t_s / p[1] + ph[1])
    turn = d["turn_deg"] * math.sin(2 * math.pi * t_s / p[2] + ph[2])
    import cv2

    m = cv2.getRotationMatrix2D((width / 2, height / 2), turn, 1.04)
    m[:, 2] += (dx, dy)
    return m


def apply_frame(img: np.ndarray, gym: dict, m: np.ndarray | None, rng) -> np.ndarray:
    """The rendered frame with the drift ``m`` (2x3 or None), exposure and noise applied."""
    import cv2

    if m is not None:
        img = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)
    if "exposure" in gym:
        f = img.astype(np.float32) * gym["exposure"]
        f += rng.normal(0.0, gym["noise_sd"], f.shape).astype(np.float32)
        img = np.clip(f, 0, 255).astype(np.uint8)
    return img


def move_points(points: np.ndarray, m: np.ndarray | None) -> np.ndarray:
    """``(..., 2)`` image points moved by the 2x3 ``m`` (unchanged if None)."""
    if m is None:
        return points
    return points @ m[:, :2].T + m[:, 2]


class Walker:
    """A second person (an anny body of its own) walking along the wall behind the lifter."""

    def __init__(self, w: dict, camera_x_sign: float, wall_dist: float, span_y: tuple, fps: float):
        import torch

        from .body import get_model

        self.torch = torch
        self.m = get_model()
        self.w = w
        self.names = list(self.m.bone_labels)
        self.idx = {n: i for i, n in enumerate(self.names)}
        self.pheno = {"gender": w["gender"], "weight": w["weight"], "age": 0.5, "muscle": 0.5}
        self.P = torch.eye(4)[None, None].repeat(1, len(self.names), 1, 1)
        with torch.no_grad():
            out = self.m(pose_parameters=self.P, phenotype_kwargs=self.pheno)
        v0 = out["vertices"][0].double().numpy()
        self.faces = self.m.get_triangular_faces().numpy().astype(np.int32)
        self.z0 = float(v0[:, 2].min())
        wall_x = -camera_x_sign * wall_dist
        self.x = wall_x + camera_x_sign * min(w["depth_m"], max(0.2, wall_dist - 0.4))
        self.y_start = span_y[0] - 2.5 if w["direction"] > 0 else span_y[1] + 2.5
        self.fps = fps
        vbi = self.m.vertex_bone_indices.numpy()
        vbw = self.m.vertex_bone_weights.numpy()
        dom = vbi[np.arange(len(vbi)), vbw.argmax(1)]
        lower = {self.idx[n] for n in self.names if n.startswith(("upperleg", "lowerleg", "foot"))}
        shirt = np.array(w["shirt"], float)
        trousers = np.array(w["trousers"], float)
        rgb = np.where(np.isin(dom, list(lower))[:, None], trousers, shirt)
        head = {self.idx[n] for n in self.names if n.startswith(("head", "neck"))}
        rgb[np.isin(dom, list(head))] = (190, 150, 120)
        self.rgb = rgb

    def vertices(self, t_s: float) -> np.ndarray | None:
        """The walker's world vertices at ``t_s``, None before they enter or after they left."""
        w = self.w
        walked = (t_s - w["start_s"]) * w["speed_mps"]
        if walked < 0 or walked > 8.0:
            return None
        torch = self.torch
        phase = 2 * math.pi * walked / 1.3  # a 1.3 m stride cycle
        P = self.P.clone()

        def rx(a: float) -> torch.Tensor:
            c, s = math.cos(a), math.sin(a)
            return torch.tensor([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1]])

        for s, sign in (("L", 1.0), ("R", -1.0)):
            swing = 0.45 * sign * math.sin(phase)
            P[0, self.idx[f"upperleg01.{s}"]] = rx(swing)
            P[0, self.idx[f"lowerleg01.{s}"]] = rx(-0.5 * max(0.0, -sign * math.sin(phase)) - 0.1)
            P[0, self.idx[f"upperarm01.{s}"]] = rx(-0.35 * swing)
        with torch.no_grad():
            v = self.m(pose_parameters=P, phenotype_kwargs=self.pheno)["vertices"][0]
        v = v.double().numpy()
        # anny stands along +Z facing -Y; turn to face the walking direction along Y
        if w["direction"] < 0:
            v = v * np.array([-1.0, -1.0, 1.0])
        v[:, 2] -= self.z0
        v[:, 0] += self.x
        v[:, 1] += self.y_start + w["direction"] * walked
        return v
