"""Loads held on the hips: a barbell (bar, collars, sleeves, 1-3 plates a side, optional foam
pad), a dumbbell (handle across the body, two heads) or a single plate lying on the lap.

The geometry is built once in a local frame whose X axis is the load's axis (lateral for the
barbell and the dumbbell, the plate's normal for the single plate) and placed every frame on the
hip crease by `LoadModel.place`: the anchor rides with the pelvis (the mid-hip joint, moved
`position_m` towards the head along the pelvis) and the load is lowered onto the body along the
normal of the shoulder-knee chord until it rests on the skin (a few mm of clothing gap), so it
sits in the crease between the abdomen and the thighs at every hip angle.

Parameters unset in the spec's ``load`` table are drawn from ``default_rng([seed, LOAD_STREAM])``
(so the body, camera and scene draws of the clip seed are the same as for an unloaded clip).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOAD_STREAM = 0x10AD
KINDS = ("none", "barbell", "dumbbell", "plate")

IRON = {"black": [34, 34, 37], "dark_grey": [60, 60, 65], "grey": [108, 108, 113]}
BUMPER = {
    "red": [178, 36, 36],
    "blue": [36, 72, 168],
    "green": [38, 128, 64],
    "yellow": [214, 178, 38],
    "black": [32, 32, 34],
}
PAD = {
    "black": [30, 30, 32],
    "grey": [92, 92, 97],
    "blue": [40, 70, 150],
    "red": [170, 40, 45],
    "pink": [220, 120, 160],
}
DUMBBELL = {"black": [32, 32, 34], "grey": [92, 92, 97], "chrome": [188, 188, 194]}
STEEL = [176, 176, 182]
COLOURS = {**IRON, **BUMPER, **PAD, **DUMBBELL, "steel": STEEL}

COLLAR_X = 0.655  # inner collar faces: 1.31 m between them (IWF bar)
COLLAR_T = 0.03
SLEEVE_R = 0.025
GAP = 0.006  # clothing between the skin and the load
PLATE_LEAN = 0.7  # single plate: share of the way from the chord's normal to the torso's
PLATE_SLIDE = 0.45  # single plate: head-ward slide (x radius) at a 100 deg hip angle


def _rgb(v):
    if isinstance(v, str):
        return list(COLOURS[v])
    return [round(float(c)) for c in v]


def _pick(rng, names):
    return names[int(rng.integers(len(names)))]


def resolve_load(spec_load, seed: int) -> dict:
    """The full load parameters: the spec's ``load`` table (or kind string) with every unset
    value drawn from the clip seed.  ``None`` (no ``load`` key) is an unloaded clip."""
    if spec_load is None:
        return {"kind": "none"}
    s = {"kind": spec_load} if isinstance(spec_load, str) else dict(spec_load)
    rng = np.random.default_rng([int(seed), LOAD_STREAM])
    u = rng.random(32)  # a fixed number of draws, so setting one key leaves the others alone
    kind = s.get("kind") or ("barbell", "dumbbell", "plate")[int(u[0] * 3)]
    if kind not in KINDS:
        raise ValueError(f"unknown load kind {kind!r}")
    if kind == "none":
        return {"kind": "none"}
    out: dict = {"kind": kind}
    out["position_m"] = float(s.get("position_m", 0.02 + 0.03 * u[1]))
    if kind in ("barbell", "plate"):
        bumper = bool(s.get("bumper", u[2] < 0.4))
        n = (
            1
            if kind == "plate"
            else int(s.get("plates_per_side", 1 + (u[3] > 0.45) + (u[3] > 0.8)))
        )
        if not 1 <= n <= 3:
            raise ValueError("plates_per_side must be 1-3")
        dia = s.get("plate_diameter_m")
        if dia is None:
            first = 0.45 if (bumper or u[4] < 0.6) else 0.30 + 0.15 * u[5]
            dia = [first]
            for k in range(1, n):
                same = bumper or u[6 + k] < 0.6
                dia.append(dia[-1] if same else 0.30 + (dia[-1] - 0.30) * u[9 + k])
        dia = [float(dia)] * n if isinstance(dia, (int, float)) else [float(d) for d in dia]
        if len(dia) != n or not all(0.2 <= d <= 0.5 for d in dia):
            raise ValueError("plate_diameter_m: one value or one per plate, 0.2-0.5 m")
        th = s.get("plate_thickness_m")
        if th is None:
            th = [
                (0.045 + 0.02 * u[12 + k])
                if bumper
                else (0.02 + 0.025 * u[12 + k]) * (0.6 + 0.4 * (d - 0.30) / 0.15)
                for k, d in enumerate(dia)
            ]
        th = [float(th)] * n if isinstance(th, (int, float)) else [float(t) for t in th]
        rgb = s.get("plate_rgb")
        if rgb is None:
            if bumper:
                rgb = [
                    BUMPER[_pick(np.random.default_rng(int(u[15] * 1e9) + k), list(BUMPER))]
                    for k in range(n)
                ]
            else:
                c = "black" if u[16] < 0.5 else ("dark_grey" if u[16] < 0.8 else "grey")
                rgb = [IRON[c]] * n
        rgb = (
            [_rgb(rgb)] * n
            if (isinstance(rgb, str) or not isinstance(rgb[0], (list, str)))
            else [_rgb(c) for c in rgb]
        )
        if len(rgb) != n:
            raise ValueError("plate_rgb: one colour or one per plate")
        out.update(
            bumper=bumper,
            plate_diameter_m=[round(d, 4) for d in dia] if kind == "barbell" else round(dia[0], 4),
            plate_thickness_m=[round(t, 4) for t in th] if kind == "barbell" else round(th[0], 4),
            plate_rgb=[[round(c) for c in r] for r in rgb]
            if kind == "barbell"
            else [round(c) for c in rgb[0]],
        )
        if kind == "barbell":
            out["plates_per_side"] = n
    if kind == "barbell":
        pad = bool(s.get("pad", u[17] < 0.5))
        out.update(
            bar_length_m=float(s.get("bar_length_m", 2.2)),
            bar_diameter_m=float(s.get("bar_diameter_m", 0.025 + 0.003 * u[18])),
            pad=pad,
        )
        if pad:
            out.update(
                pad_diameter_m=float(s.get("pad_diameter_m", 0.09 + 0.03 * u[19])),
                pad_length_m=float(s.get("pad_length_m", 0.38 + 0.07 * u[20])),
                pad_rgb=_rgb(
                    s.get("pad_rgb", PAD[_pick(np.random.default_rng(int(u[21] * 1e9)), list(PAD))])
                ),
            )
        lo = max(0.26, out.get("pad_length_m", 0.0) / 2 + 0.05)
        out["grip_half_width_m"] = float(s.get("grip_half_width_m", lo + (0.42 - lo) * u[22]))
    if kind == "dumbbell":
        hd = float(s.get("dumbbell_head_diameter_m", 0.12 + 0.12 * u[23]))
        out.update(
            dumbbell_head_diameter_m=hd,
            dumbbell_head_length_m=float(
                s.get("dumbbell_head_length_m", 0.05 + 0.25 * (hd - 0.10) + 0.02 * u[24])
            ),
            dumbbell_handle_length_m=float(s.get("dumbbell_handle_length_m", 0.12 + 0.02 * u[25])),
            dumbbell_handle_diameter_m=float(
                s.get("dumbbell_handle_diameter_m", 0.03 + 0.006 * u[26])
            ),
            dumbbell_shape=str(s.get("dumbbell_shape", "hex" if u[27] < 0.6 else "round")),
            dumbbell_rgb=_rgb(
                s.get(
                    "dumbbell_rgb",
                    DUMBBELL[_pick(np.random.default_rng(int(u[28] * 1e9)), list(DUMBBELL))],
                )
            ),
        )
        if out["dumbbell_shape"] not in ("hex", "round"):
            raise ValueError('dumbbell_shape: "hex" or "round"')
    for k, v in list(out.items()):
        if isinstance(v, float):
            out[k] = round(v, 4)
    return out


# ----------------------------------------------------------------- geometry
def _cyl(x0, x1, r, n, rgb, phase=0.0, caps=(True, True), r_in=0.0, nx=1):
    """Triangles of a cylinder (or a regular prism, small n) along local X from x0 to x1:
    (tris (k,3,3), normals (k,3), rgb (k,3), axial (k,)), outward normals, flat shading.
    Caps are rings from r_in to r (a disc when r_in = 0)."""
    a = phase + 2 * np.pi * np.arange(n + 1) / n
    ca, sa = np.cos(a), np.sin(a)
    am = phase + 2 * np.pi * (np.arange(n) + 0.5) / n
    tris, nors, ax = [], [], []
    xs = np.linspace(x0, x1, nx + 1)
    for xa, xb in zip(xs[:-1], xs[1:]):
        for i in range(n):
            p = [
                [xa, r * ca[i], r * sa[i]],
                [xb, r * ca[i], r * sa[i]],
                [xb, r * ca[i + 1], r * sa[i + 1]],
                [xa, r * ca[i + 1], r * sa[i + 1]],
            ]
            nn = [0.0, math.cos(am[i]), math.sin(am[i])]
            tris += [[p[0], p[1], p[2]], [p[0], p[2], p[3]]]
            nors += [nn, nn]
            ax += [0.5 * (xa + xb)] * 2
    for x, sgn, on in ((x0, -1.0, caps[0]), (x1, 1.0, caps[1])):
        if not on:
            continue
        for i in range(n):
            o1 = [x, r * ca[i], r * sa[i]]
            o2 = [x, r * ca[i + 1], r * sa[i + 1]]
            if r_in <= 0:
                tris.append([[x, 0.0, 0.0], o1, o2])
                nors.append([sgn, 0.0, 0.0])
                ax.append(x)
            else:
                i1 = [x, r_in * ca[i], r_in * sa[i]]
                i2 = [x, r_in * ca[i + 1], r_in * sa[i + 1]]
                tris += [[i1, o1, o2], [i1, o2, i2]]
                nors += [[sgn, 0.0, 0.0]] * 2
                ax += [x, x]
    k = len(tris)
    return (
        np.array(tris, float).reshape(k, 3, 3),
        np.array(nors, float),
        np.tile(np.asarray(rgb, float), (k, 1)),
        np.array(ax, float),
    )


def _ring(x, r_in, r_out, n, rgb, sgn=1.0):
    t, nn, c, a = _cyl(x, x, r_out, n, rgb, caps=(sgn < 0, sgn > 0), r_in=r_in)
    keep = np.abs(nn[:, 0]) > 0.5  # the cap only
    return t[keep], nn[keep], c[keep], a[keep]


def _cat(parts):
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))


def _mirror(part):
    t, n, c, a = part
    t, n = t.copy(), n.copy()
    t[..., 0] *= -1
    n[:, 0] *= -1
    return t, n, c, -a


def _shade_rgb(rgb, f):
    return np.clip(np.asarray(rgb, float) * f, 0, 255)


def _plate(x0, R, T, rgb, bumper, n=40, hole_r=SLEEVE_R, hole_rgb=None):
    """One plate from x0 to x0+T (the rim and both faces), a hole of hole_r for the sleeve.
    Each face is a set of coplanar, non-overlapping rings (so their drawing order does not
    matter): a steel insert (bumper) or a lighter hub and rim lip (cast iron)."""
    x1 = x0 + T
    parts = [_cyl(x0, x1, R, n, rgb, caps=(False, False))]
    if bumper:
        rings = [(hole_r, 0.068, STEEL), (0.068, R, rgb)]
    else:
        hub, lip = min(0.085, 0.3 * R), 0.87 * R
        rings = [
            (hole_r, hub, _shade_rgb(rgb, 1.2) + 6),
            (hub, lip, rgb),
            (lip, R, _shade_rgb(rgb, 1.25) + 8),
        ]
    if hole_rgb is not None:
        rings.append((0.0, hole_r, hole_rgb))
    for x, s in ((x1, 1.0), (x0, -1.0)):
        for r0, r1, c in rings:
            parts.append(_ring(x, r0, r1, n if r1 > 0.1 else 24, c, s))
    return _cat(parts)


@dataclass
class Placement:
    R: np.ndarray  # local -> world rotation
    P: np.ndarray  # local origin in world
    n_a: np.ndarray  # anterior (unit), the direction the load was lowered along
    c: np.ndarray  # along the body towards the head (unit)


class LoadModel:
    def __init__(self, params: dict):
        self.p = p = params
        self.kind = p["kind"]
        if self.kind == "barbell":
            self._barbell()
        elif self.kind == "dumbbell":
            self._dumbbell()
        elif self.kind == "plate":
            self._single_plate()
        else:
            raise ValueError("no geometry for an unloaded clip")
        self.verts = self.tris.reshape(-1, 3)

    # ---------------------------------------------------------------- building
    def _barbell(self):
        p = self.p
        rb = p["bar_diameter_m"] / 2
        half = p["bar_length_m"] / 2
        hp = p["pad_length_m"] / 2 if p.get("pad") else 0.0
        bar = _cyl(hp, COLLAR_X, rb, 12, STEEL, caps=(False, False), nx=8)  # none inside the pad
        parts = [bar, _mirror(bar)]
        if not hp:
            parts.append(_cyl(-0.001, 0.001, rb, 12, STEEL, caps=(False, False)))
        side = [
            _cyl(COLLAR_X, COLLAR_X + COLLAR_T, 0.04, 20, STEEL),
        ]
        x = COLLAR_X + COLLAR_T
        for d, t, c in zip(p["plate_diameter_m"], p["plate_thickness_m"], p["plate_rgb"]):
            side.append(_plate(x, d / 2, t, c, p["bumper"]))
            x += t
        side.append(_cyl(x, x + 0.022, 0.036, 20, _shade_rgb(STEEL, 0.8)))  # clip collar
        side.append(_cyl(COLLAR_X + COLLAR_T, half, SLEEVE_R, 16, STEEL, caps=(False, True), nx=4))
        sp = _cat(side)
        parts += [sp, _mirror(sp)]
        profile = [(-COLLAR_X, COLLAR_X, rb)]
        if p.get("pad"):
            rp, hl = p["pad_diameter_m"] / 2, p["pad_length_m"] / 2
            parts.append(_cyl(-hl, hl, rp, 18, p["pad_rgb"], nx=8))
            profile.append((-hl, hl, rp))
        self.tris, self.normals, self.rgb, self.axial = _cat(parts)
        self.profile = profile
        self.outer_x = x  # outer face of the outermost plate
        self.radius = max(p["plate_diameter_m"]) / 2
        self.grip_local = np.array([p["grip_half_width_m"], 0.0, rb])  # top of the bar, +X side
        self.grip_normal_local = np.array([0.0, 0.0, 1.0])
        self.curl = 1.1
        self.centre_local = np.zeros(3)
        self.axial_keys = True

    def _dumbbell(self):
        p = self.p
        rh = p["dumbbell_head_diameter_m"] / 2
        lh = p["dumbbell_head_length_m"]
        hh = p["dumbbell_handle_length_m"] / 2
        rr = p["dumbbell_handle_diameter_m"] / 2
        hexa = p["dumbbell_shape"] == "hex"
        n, rc = (6, rh / math.cos(math.pi / 6)) if hexa else (32, rh)
        col = p["dumbbell_rgb"]
        handle = _cyl(-hh, hh, rr, 12, STEEL, caps=(False, False), nx=4)
        head = _cat(
            [
                _cyl(hh, hh + 0.012, rr + 0.012, 16, STEEL),
                _cyl(hh + 0.012, hh + 0.012 + lh, rc, n, col, phase=0.0 if hexa else 0.0),
            ]
        )
        self.tris, self.normals, self.rgb, self.axial = _cat([handle, head, _mirror(head)])
        self.profile = [(-hh, hh, rr), (hh, hh + 0.012 + lh, rh), (-hh - 0.012 - lh, -hh, rh)]
        self.outer_x = hh + 0.012 + lh
        self.radius = rh
        self.grip_local = np.array([hh + 0.012 + 0.5 * lh, 0.0, rh])
        self.grip_normal_local = np.array([0.0, 0.0, 1.0])
        self.curl = 0.5
        self.centre_local = np.zeros(3)
        self.axial_keys = True

    def _single_plate(self):
        p = self.p
        R, T = p["plate_diameter_m"] / 2, p["plate_thickness_m"]
        self.tris, self.normals, self.rgb, self.axial = _cat(
            [
                _plate(0.0, R, T, p["plate_rgb"], p["bumper"], n=48, hole_rgb=[15, 15, 15]),
            ]
        )
        self.profile = None
        self.thickness = T
        self.outer_x = T
        self.radius = R
        # local frame of the plate: X = its normal, Y = along the body, Z = towards -X world;
        # the hands hold the rim at the sides, palms in
        self.grip_local = np.array([0.5 * T, 0.0, -R])
        self.grip_normal_local = np.array([0.0, 0.0, -1.0])
        self.curl = 0.8
        self.centre_local = np.array([T / 2, 0.0, 0.0])
        self.axial_keys = False

    # --------------------------------------------------------------- placement
    def place(
        self, V: np.ndarray, clear_vids: np.ndarray, J: dict, pelvis_up: np.ndarray
    ) -> Placement:
        """Rest the load on the body (vertices V[clear_vids]: not the arms) at the hip crease."""
        mid = lambda n: 0.5 * (J[n + "_left"] + J[n + "_right"])  # noqa: E731
        H, S, K = mid("hip"), mid("shoulder"), mid("knee")
        c = S - K
        c[0] = 0.0
        c /= np.linalg.norm(c)
        n_a = np.cross([1.0, 0.0, 0.0], c)
        up = np.asarray(pelvis_up, float).copy()
        up[0] = 0.0
        up /= np.linalg.norm(up)
        A = H + self.p["position_m"] * up
        A[0] = 0.0
        Vb = V[clear_vids]
        rel = Vb - A
        near = np.linalg.norm(rel[:, 1:], axis=1) < 0.6
        rel = rel[near]
        h = rel @ n_a  # height above the anchor along the lowering direction
        if self.profile is not None:  # axial load: lowered until some part touches the skin
            along = rel @ c
            need = np.full(len(rel), -np.inf)
            for x0, x1, r in self.profile:
                sel = (rel[:, 0] >= x0) & (rel[:, 0] <= x1) & (np.abs(along) < r + GAP)
                top = h[sel] + np.sqrt(np.maximum((r + GAP) ** 2 - along[sel] ** 2, 0.0))
                need[sel] = np.maximum(need[sel], top)
            d = float(need.max()) if np.isfinite(need).any() else 0.0
            R = np.stack([[1.0, 0.0, 0.0], c, n_a], axis=1)
            P = A + d * n_a
        else:  # the single plate: a disc lying on the lap, its bottom face on the highest skin
            # A disc bridging the V of the flexed hips would float high above the crease: it
            # leans towards the torso (PLATE_LEAN of the way from the chord's normal to the
            # torso's) and slides head-wards onto the lower belly as the hips flex.
            t = S - H
            t[0] = 0.0
            n_t = np.cross([1.0, 0.0, 0.0], t / np.linalg.norm(t))
            n_p = n_a + PLATE_LEAN * (n_t - n_a)
            n_p /= np.linalg.norm(n_p)
            c_p = np.cross(n_p, [1.0, 0.0, 0.0])
            a_sh, a_kn = (S - H)[1:], (K - H)[1:]
            cos_h = float(a_sh @ a_kn / (np.linalg.norm(a_sh) * np.linalg.norm(a_kn)))
            # 0 with the hips straight, 1 at a 100 deg hip angle (cos = -0.17)
            flex = min(1.0, max(0.0, (cos_h + 1.0) / 0.826))
            shift = PLATE_SLIDE * self.radius * flex * c_p
            A = A + shift
            rel = rel - shift
            h = rel @ n_p
            along = rel @ c_p
            foot = rel[:, 0] ** 2 + along**2 <= self.radius**2
            d = float(h[foot].max()) + GAP if foot.any() else 0.0
            R = np.stack([n_p, c_p, np.cross(n_p, c_p)], axis=1)
            P = A + d * n_p
            n_a, c = n_p, c_p
        return Placement(R=R, P=P, n_a=n_a, c=c)

    # ------------------------------------------------------------------ output
    def world(self, pl: Placement, cam_pos=None):
        """World triangles, normals, colours and painter's keys (points whose camera depth
        orders the triangles among the body's)."""
        tris = self.tris @ pl.R.T + pl.P
        normals = self.normals @ pl.R.T
        if self.axial_keys:  # layered along the axis: each part at the depth of its axis point
            key = pl.P + np.outer(self.axial, pl.R[:, 0])
        else:  # a slab lying on the body: all of it at the depth of its point nearest the camera
            ctr = tris.mean(1)
            if cam_pos is None:
                return tris, normals, self.rgb, ctr
            n = pl.R[:, 0]
            to = np.asarray(cam_pos, float) - self.centre(pl)
            to = to - (to @ n) * n
            near = self.centre(pl) + self.radius * to / max(np.linalg.norm(to), 1e-9)
            key = near + 0.001 * (ctr - near)
        return tris, normals, self.rgb, key

    def grips(self, pl: Placement) -> dict:
        """Per side ("L" = +X): (grip point on the load's surface, outward surface normal, the
        direction from the palm to the wrist or None: towards the shoulder)."""
        out = {}
        for s, sg in (("L", 1.0), ("R", -1.0)):
            g, m = self.grip_local.copy(), self.grip_normal_local.copy()
            k = 0 if self.axial_keys else 2  # the lateral local axis
            g[k] *= sg
            m[k] *= sg
            # the single plate is held at its rim with the hands along it (fingers footwards)
            along = None if self.axial_keys else pl.c
            out[s] = (pl.R @ g + pl.P, pl.R @ m, along)
        return out

    def centre(self, pl: Placement) -> np.ndarray:
        return pl.R @ self.centre_local + pl.P

    def near_centre(self, pl: Placement, side_sign: float) -> np.ndarray:
        """Centre of the load's face nearest a camera on the side_sign (+1: +X) side."""
        if self.axial_keys:
            return pl.R @ np.array([side_sign * self.outer_x, 0.0, 0.0]) + pl.P
        return self.centre(pl)

    def min_z(self, pl: Placement) -> float:
        return float((self.verts @ pl.R.T + pl.P)[:, 2].min())
