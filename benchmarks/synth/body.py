"""Anny body model, posed as a closed chain for the hip thrust / glute bridge.

World frame (metres): X = lateral (the body's left side is +X), Y = along the body
(head towards +Y, feet towards -Y), Z = up, floor at Z = 0.

The body lies on its back: root rotation Rx(rho) with rho near -90 deg.  All the
sagittal rotations are about X, so the chain is planar in Y-Z (lateral offsets of
the rig are kept), which makes the closed-chain solve a 1-D root find:

* a pivot point on the upper back is pinned to the bench edge (hip thrust) or to
  the floor (glute bridge);
* the ankle is pinned above the floor (foot flat), or follows the foot rotating
  about the ball of the foot when the heel lifts;
* the pelvis rotation rho is searched so that the 3-D shoulder-hip-knee angle hits
  the target; hip and knee follow from 2-link IK, the foot is kept flat;
* with a load (load.py) the load is rested on the hip crease of the posed body and the arms
  are solved (2-link IK, forearm twist, wrist, finger curl) so that the hands grip it; the arm
  vertices are re-skinned in numpy (linear blend with the change of their bones).

Forward kinematics replicate anny's "local-ref" parameterisation exactly (checked
against anny's own bone poses): W_c = W_p . T(q_c) D_c T(-q_c) with q the heads of
the identity pose and the root head at the origin.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("ANNY_CACHE_DIR", "/work/cache/anny")
os.environ.setdefault("WARP_CACHE_PATH", "/work/cache/warp")

_MODEL = None

LUMBAR_BONES = (("spine05", 0.40), ("spine04", 0.35), ("spine03", 0.25))
NECK_BONES = (("neck01", 0.4), ("neck02", 0.35), ("neck03", 0.25))


def get_model():
    """Load anny once per process (float32, CPU, single thread)."""
    global _MODEL
    if _MODEL is None:
        import anny
        import torch

        torch.set_num_threads(1)
        _MODEL = anny.Anny().to(dtype=torch.float32)
    return _MODEL


def rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


def ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)


def rot_axis(k: np.ndarray, a: float) -> np.ndarray:
    """Rotation by a (rad) about the unit axis k (Rodrigues)."""
    k = np.asarray(k, float) / np.linalg.norm(k)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(a) * K + (1 - math.cos(a)) * (K @ K)


def _unit(v):
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _frame(a, b):
    """Orthonormal columns [a, b', a x b'] from a and b (b made perpendicular to a)."""
    a = _unit(a)
    b = _unit(b - (b @ a) * a)
    return np.stack([a, b, np.cross(a, b)], axis=1)


def signed_shk(s: np.ndarray, h: np.ndarray, k: np.ndarray) -> float:
    """Shoulder-hip-knee angle in degrees from 3-D points lying in (or projected on)
    the sagittal Y-Z plane; > 180 when the hip lies above the shoulder-knee line
    (hips pushed past straight).  Callers pass bilateral midpoints, which lie in the
    mid-sagittal plane for the symmetric poses generated here."""
    a, b = (s - h)[1:], (k - h)[1:]
    ang = math.degrees(math.atan2(a[0] * b[1] - a[1] * b[0], a[0] * b[0] + a[1] * b[1]))
    # a points to the head (+Y), b to the knee (-Y); hip above the chord <=> a x b > 0
    return ang % 360.0


def shk3d_unsigned(s: np.ndarray, h: np.ndarray, k: np.ndarray) -> float:
    return joint_angle(s, h, k)


def joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    u, v = a - b, c - b
    cosv = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
    return math.degrees(math.acos(max(-1.0, min(1.0, cosv))))


@dataclass
class PoseState:
    """Per-frame inputs of the closed-chain solve."""

    shk_deg: float  # target signed 3-D shoulder-hip-knee angle
    lumbar_deg: float = 0.0  # lumbar extension, spread over spine05/04/03
    heel_lift_m: float = 0.0  # heel rise (plantarflexion about the ball of the foot)
    neck_deg: float = 0.0  # extra neck flexion (chin tuck)


@dataclass
class Posed:
    vertices: np.ndarray  # (V,3) world
    joints: dict  # name -> (3,) world
    shk_deg: float  # measured, mean of both sides
    shk_left: float  # unsigned full 3-D angle, left side (lateral offsets included)
    shk_right: float
    knee_deg: float
    lumbar_deg: float
    heel_lift_m: float
    min_z: float
    params: dict = field(default_factory=dict)
    load: object = None  # load.Placement when the body holds a load
    grip_gap_m: float = 0.0  # how far the wrists fall short of their targets (out of reach)


class Body:
    def __init__(
        self,
        phenotype: dict,
        exercise: str = "hip_thrust",
        bench_height: float = 0.42,
        arms: str | None = None,
        load=None,
    ):
        import torch

        self.torch = torch
        self.model = m = get_model()
        self.exercise = exercise
        self.names = list(m.bone_labels)
        self.idx = {n: i for i, n in enumerate(self.names)}
        self.parents = list(m.bone_parents)
        self.nb = len(self.names)
        self.phenotype = {k: float(v) for k, v in phenotype.items()}
        P = torch.eye(4)[None, None].repeat(1, self.nb, 1, 1)
        with torch.no_grad():
            out = m(pose_parameters=P, phenotype_kwargs=self.phenotype)
        self.q = out["bone_poses"][0, :, :3, 3].double().numpy()  # identity-pose heads
        self.rest_v = out["vertices"][0].double().numpy()
        self.faces = m.get_triangular_faces().numpy().astype(np.int32)
        vbi = m.vertex_bone_indices.numpy()
        vbw = m.vertex_bone_weights.numpy()
        self.dom_bone = vbi[np.arange(len(vbi)), vbw.argmax(1)]
        self.stature_m = float(np.ptp(self.rest_v[:, 2]))
        self._P = P
        self.arms = arms or ("hips" if exercise == "hip_thrust" else "floor")
        self.load = load  # load.LoadModel or None; the hands then grip it (see _grip)
        if load is not None:
            self.arms = "load"
        self._landmarks()
        self._arm_setup()
        self.bench_height = bench_height
        self._setup_chain()

    # ------------------------------------------------------------------ geometry
    def _landmarks(self):
        q, v = self.q, self.rest_v
        I = self.idx
        self.sole_z = float(
            v[
                np.isin(
                    self.dom_bone,
                    [I["foot.L"]]
                    + [I[n] for n in self.names if n.startswith("toe") and n.endswith(".L")],
                ),
                2,
            ].min()
        )
        # heel: lowest-rearmost foot vertex of each side; ball of the foot: under toe heads
        self.heel_vid = {}
        for side in "LR":
            fids = np.where(self.dom_bone == I[f"foot.{side}"])[0]
            fz = v[fids, 2]
            low = fids[fz < self.sole_z + 0.02]
            self.heel_vid[side] = int(low[np.argmax(v[low, 1])])
        toe = q[I["toe1-1.L"]]
        self.ball_rest = np.array([0.0, toe[1] + 0.01, self.sole_z])
        self.ankle_rest = q[I["foot.L"]].copy()
        # back pivot point (posterior surface, midline)
        zsh = q[I["upperarm01.L"], 2]
        if self.exercise == "hip_thrust":
            zc, bone = zsh - 0.12, "spine02"
        else:
            zc, bone = zsh - 0.01, "spine01"
        sel = (np.abs(v[:, 0]) < 0.05) & (np.abs(v[:, 2] - zc) < 0.02)
        pv = v[sel]
        self.pivot_rest = np.array([0.0, pv[:, 1].max(), zc])
        self.pivot_bone = bone
        # posterior buttock / pelvis vertices used for floor clearance
        pel = [
            I[n]
            for n in (
                "root",
                "pelvis.L",
                "pelvis.R",
                "upperleg01.L",
                "upperleg01.R",
                "spine05",
                "spine04",
            )
        ]
        self.pelvis_vids = np.where(np.isin(self.dom_bone, pel))[0]
        head = [I[n] for n in ("head", "neck01", "neck02", "neck03", "eye.L", "eye.R")]
        self.head_vids = np.where(np.isin(self.dom_bone, head))[0]
        self.thigh = (q[I["lowerleg01.L"]] - q[I["upperleg01.L"]])[1:]
        self.shank = (q[I["foot.L"]] - q[I["lowerleg01.L"]])[1:]
        self.Lf = float(np.linalg.norm(self.thigh))
        self.Ls = float(np.linalg.norm(self.shank))
        self.phi_f0 = math.atan2(self.thigh[1], self.thigh[0])
        self.phi_s0 = math.atan2(self.shank[1], self.shank[0])

    def _arm_setup(self):
        """Rest-pose arm and hand vectors for the grip IK, and the arm vertices' skin weights."""
        q, I = self.q, self.idx
        self.arm_rest = {}
        for s in "LR":
            S, E, W = (q[I[f"{b}.{s}"]] for b in ("upperarm01", "lowerarm01", "wrist"))
            u0, f0 = E - S, W - E
            knuck = np.mean([q[I[f"finger{k}-1.{s}"]] for k in (2, 3, 4, 5)], axis=0)
            h0 = _unit(knuck - W)
            fd = q[I[f"finger3-3.{s}"]] - q[I[f"finger3-1.{s}"]]
            p0 = _unit(fd - (fd @ h0) * h0)  # fingers curl towards the palm
            self.arm_rest[s] = dict(
                Lu=float(np.linalg.norm(u0)),
                Lf=float(np.linalg.norm(f0)),
                F0=_frame(u0, np.cross(u0, f0)),
                n0=_unit(np.cross(u0, f0)),
                f0=_unit(f0),
                h0=h0,
                p0=p0,
                curl_axis=_unit(np.cross(h0, p0)),
            )
        chain = ("upperarm", "lowerarm", "wrist", "finger", "metacarpal")
        arm_bones = [I[n] for n in self.names if n.startswith(chain)]
        self.arm_bone_ids = np.array(arm_bones)
        vbi = self.model.vertex_bone_indices.numpy()
        vbw = self.model.vertex_bone_weights.numpy()
        hit = np.isin(vbi, arm_bones) & (vbw > 0)
        self.arm_vids = np.where(hit.any(1))[0]
        self.arm_vbi = vbi[self.arm_vids]
        self.arm_vbw = vbw[self.arm_vids].astype(np.float64)
        self.clear_vids = np.where(~np.isin(self.dom_bone, arm_bones))[0]

    def _grip(self, G, rots, t, targets):
        """Two-bone arm IK (elbows out and down), forearm twist, wrist and finger curl so that
        each palm lies on its grip point.  targets: side -> (grip point, surface normal, palm-to-
        wrist direction or None: towards the shoulder) in world coordinates.  Returns the new rotations and the largest wrist shortfall (m)."""
        I = self.idx
        new = dict(rots)
        gap = 0.0
        for s, sg in (("L", 1.0), ("R", -1.0)):
            a = self.arm_rest[s]
            g, m, along = targets[s]
            g, m = g - t, _unit(m)
            S = self.head(G, f"upperarm01.{s}")
            Rp = G[self.parents[I[f"upperarm01.{s}"]], :3, :3]
            back = S - g if along is None else np.asarray(along, float)
            back = _unit(back - (back @ m) * m)
            W = g + 0.022 * m + 0.065 * back  # wrist centre above and behind the palm
            d = W - S
            D = float(np.linalg.norm(d))
            Lu, Lf = a["Lu"], a["Lf"]
            Dc = min(max(D, abs(Lu - Lf) + 1e-3), 0.995 * (Lu + Lf))
            gap = max(gap, D - Dc)
            dh = d / D
            W = S + dh * Dc
            pole = np.array([sg, 0.0, -0.6])
            pole = _unit(pole - (pole @ dh) * dh)
            along = (Lu**2 - Lf**2 + Dc**2) / (2 * Dc)
            E = S + along * dh + math.sqrt(max(Lu**2 - along**2, 0.0)) * pole
            us, fs = _unit(E - S), _unit(W - E)
            ns = np.cross(us, fs)
            ns = _unit(ns) if np.linalg.norm(ns) > 1e-6 else pole
            Fs = np.stack([us, ns, np.cross(us, ns)], axis=1)
            R1 = Rp.T @ Fs @ a["F0"].T
            M1 = Rp @ R1
            fl = M1.T @ fs
            n0, f0 = a["n0"], a["f0"]
            ang = math.atan2(float(np.cross(f0, fl) @ n0), float(f0 @ fl))
            R2 = rot_axis(n0, ang)
            M2 = M1 @ R2
            # forearm twist: the palm turned towards the load as far as a twist can
            pw = M2 @ a["p0"]
            want = -m
            pa = pw - (pw @ fs) * fs
            pb = want - (want @ fs) * fs
            tw = math.atan2(float(np.cross(pa, pb) @ fs), float(pa @ pb))
            tw = max(-1.6, min(1.6, tw))
            T = rot_axis(f0, tw)
            M3 = M2 @ T
            # wrist: the hand flat on the grip, continuing the forearm's direction
            hs = fs * np.array([0.25, 1.0, 1.0]) if along is None else -back
            hs = hs - (hs @ m) * m  # fingers across the bar / handle, or along the rim
            hs = _unit(hs) if np.linalg.norm(hs) > 1e-6 else _unit(np.cross(m, [1.0, 0, 0]))
            Rw = _frame(hs, want) @ _frame(M3 @ a["h0"], M3 @ a["p0"]).T
            Dw = M3.T @ Rw @ M3
            new[f"upperarm01.{s}"] = R1
            new[f"lowerarm01.{s}"] = R2
            new[f"lowerarm02.{s}"] = T
            new[f"wrist.{s}"] = Dw
            curl = self.load.curl
            ka = a["curl_axis"]
            for k in (2, 3, 4, 5):
                for j, w in ((1, 0.9), (2, 1.0), (3, 0.8)):
                    new[f"finger{k}-{j}.{s}"] = rot_axis(ka, curl * w)
            for j in (2, 3):
                new[f"finger1-{j}.{s}"] = rot_axis(ka, 0.4 * curl)
        return new, gap

    # ---------------------------------------------------------------- kinematics
    def fk(self, rots: dict) -> np.ndarray:
        """World 4x4 of every bone (root head at origin), rots: name -> 3x3."""
        G = np.empty((self.nb, 4, 4))
        q = self.q
        for i in range(self.nb):
            R = rots.get(self.names[i])
            L = np.eye(4)
            if R is not None:
                L[:3, :3] = R
                L[:3, 3] = q[i] - R @ q[i]
            p = self.parents[i]
            G[i] = L if p < 0 else G[p] @ L
        return G

    def _rots(self, rho, lumbar_deg, neck_deg, hip=0.0, knee=0.0, foot=0.0, arm_x=None):
        r = {"root": rx(rho)}
        lam = math.radians(lumbar_deg)
        for n, w in LUMBAR_BONES:
            r[n] = rx(-lam * w)
        nk = math.radians(neck_deg)
        for n, w in NECK_BONES:
            r[n] = rx(nk * w)
        for s in "LR":
            r[f"upperleg01.{s}"] = rx(hip)
            r[f"lowerleg01.{s}"] = rx(knee)
            r[f"foot.{s}"] = rx(foot)
        sgn = {"L": 1.0, "R": -1.0}
        if self.arms in ("hips", "load"):
            for s in "LR":
                r[f"upperarm01.{s}"] = ry(sgn[s] * math.radians(33))
                r[f"lowerarm01.{s}"] = rx(math.radians(45))
        else:  # arms along the body on the floor
            ax = arm_x if arm_x is not None else 0.0
            for s in "LR":
                r[f"upperarm01.{s}"] = rx(ax + math.radians(13)) @ ry(sgn[s] * math.radians(18))
                r[f"lowerarm01.{s}"] = rx(math.radians(45))
        return r

    @staticmethod
    def _apply(G, i, p):
        return G[i, :3, :3] @ p + G[i, :3, 3]

    def head(self, G, name):
        i = self.idx[name]
        return G[i, :3, :3] @ self.q[i] + G[i, :3, 3]

    def _solve_given_rho(self, rho, st: PoseState, ankle_yz, foot_abs):
        I = self.idx
        # tilt of the thorax from lying flat (positive: hips end raised)
        trunk_tilt = -(rho - math.radians(st.lumbar_deg)) - math.pi / 2
        neck = st.neck_deg
        arm_x = None
        if self.exercise == "glute_bridge":
            neck = neck + min(60.0, max(0.0, math.degrees(trunk_tilt)))  # head stays on the floor
            arm_x = trunk_tilt
        rots = self._rots(rho, st.lumbar_deg, neck, arm_x=arm_x)
        G = self.fk(rots)
        pivot = self._apply(G, I[self.pivot_bone], self.pivot_rest)
        E = self.pivot_world
        t = np.array([0.0, E[1] - pivot[1], E[2] - pivot[2]])
        H = self.head(G, "upperleg01.L") + t
        d = np.array(ankle_yz) - H[1:]
        D = float(np.linalg.norm(d))
        D = min(D, self.Lf + self.Ls - 1e-6)
        cos_a = (self.Lf**2 + D**2 - self.Ls**2) / (2 * self.Lf * D)
        a = math.acos(max(-1.0, min(1.0, cos_a)))
        base = math.atan2(d[1], d[0])
        # knee up: the thigh is rotated towards +Z from the hip->ankle line.
        # The ankle is at -Y from the hip, so +Z is a clockwise turn (negative angle).
        phi_f = base - a if d[0] < 0 else base + a
        kdir = np.array([math.cos(phi_f), math.sin(phi_f)])
        Kyz = H[1:] + self.Lf * kdir
        s = np.array(ankle_yz) - Kyz
        phi_s = math.atan2(s[1], s[0])
        hip = phi_f - self.phi_f0 - rho
        knee = phi_s - self.phi_s0 - rho - hip
        foot = foot_abs - (rho + hip + knee)
        return rots, hip, knee, foot, t, neck, arm_x

    def _eval(self, rho, st, ankle_yz, foot_abs, full=False):
        rots, hip, knee, foot, t, neck, arm_x = self._solve_given_rho(rho, st, ankle_yz, foot_abs)
        for s in "LR":
            rots[f"upperleg01.{s}"] = rx(hip)
            rots[f"lowerleg01.{s}"] = rx(knee)
            rots[f"foot.{s}"] = rx(foot)
        G = self.fk(rots)
        J = {}
        for s, side in (("L", "left"), ("R", "right")):
            J[f"shoulder_{side}"] = self.head(G, f"upperarm01.{s}") + t
            J[f"hip_{side}"] = self.head(G, f"upperleg01.{s}") + t
            J[f"knee_{side}"] = self.head(G, f"lowerleg01.{s}") + t
            J[f"ankle_{side}"] = self.head(G, f"foot.{s}") + t
        mid = lambda n: 0.5 * (J[n + "_left"] + J[n + "_right"])  # noqa: E731
        shk = signed_shk(mid("shoulder"), mid("hip"), mid("knee"))
        if not full:
            return shk
        shl = shk3d_unsigned(J["shoulder_left"], J["hip_left"], J["knee_left"])
        shr = shk3d_unsigned(J["shoulder_right"], J["hip_right"], J["knee_right"])
        return (
            rots,
            t,
            J,
            shk,
            (shl, shr),
            dict(
                rho=rho,
                hip=hip,
                knee=knee,
                foot=foot,
                neck=neck,
                arm_x=arm_x if arm_x is not None else 0.0,
            ),
        )

    def _foot(self, heel_lift_m):
        """Ankle (y, z) and absolute foot rotation for a heel lift about the ball."""
        heel = self.rest_v[self.heel_vid["L"]]
        lever = abs(heel[1] - self.ball_rest[1])
        beta = math.asin(min(0.6, heel_lift_m / lever)) if heel_lift_m > 0 else 0.0
        rel = (self.ankle_rest - self.ball_rest)[1:]
        c, s = math.cos(beta), math.sin(beta)
        rel = np.array([c * rel[0] - s * rel[1], s * rel[0] + c * rel[1]])
        ball_world = np.array([self.ball_world_y, 0.0])
        return ball_world + rel, beta

    def solve_rho(self, st: PoseState, rho0=None):
        from scipy.optimize import brentq

        ankle_yz, beta = self._foot(st.heel_lift_m)
        f = lambda r: self._eval(r, st, ankle_yz, beta) - st.shk_deg  # noqa: E731
        lo, hi = self.rho_bracket
        flo, fhi = f(lo), f(hi)
        if flo * fhi > 0:  # out of range: clamp to the nearest end
            return (lo if abs(flo) < abs(fhi) else hi), ankle_yz, beta
        return brentq(f, lo, hi, xtol=1e-7), ankle_yz, beta

    # ------------------------------------------------------------------- set-up
    def _setup_chain(self):
        if self.exercise == "hip_thrust":
            self.pivot_world = np.array([0.0, 0.0, self.bench_height])
        else:
            self.pivot_world = np.array([0.0, 0.0, 0.0])
        # the ankle/ball placement is solved in place_feet(); a provisional one first
        self.ball_world_y = -0.9
        self.rho_bracket = (math.radians(-90 - 75), math.radians(-90 + 40))

    def _monotone_bracket(self, st, ankle_yz, beta):
        rs = np.radians(np.linspace(-90 - 75, -90 + 60, 136))
        vals = np.array([self._eval(r, st, ankle_yz, beta) for r in rs])
        return rs, vals

    def place_feet(self, knee_top_deg: float = 90.0):
        """Choose the foot position so that the knee is at knee_top_deg when
        SHK = 180 (no arch, heels flat); then the monotone rho bracket."""
        from scipy.optimize import brentq

        st = PoseState(180.0)

        def knee_at_top(ball_y):
            self.ball_world_y = ball_y
            self._update_bracket()
            if not (self.shk_range[0] < 150 and self.shk_range[1] > 200):
                return float("nan")
            rho, ank, beta = self.solve_rho(st)
            _, _, J, _, _, _ = self._eval(rho, st, ank, beta, full=True)
            return joint_angle(J["hip_left"], J["knee_left"], J["ankle_left"])

        L = self.Lf + self.Ls
        ys = np.linspace(-0.3 * L, -1.6 * L, 27)
        gv = np.array([knee_at_top(y) - knee_top_deg for y in ys])
        y_sol = None
        for a, b, ga, gb in zip(ys[:-1], ys[1:], gv[:-1], gv[1:]):
            if np.isfinite(ga) and np.isfinite(gb) and ga * gb <= 0:
                y_sol = brentq(lambda y: knee_at_top(y) - knee_top_deg, a, b, xtol=1e-4)
                break
        if y_sol is None:
            fin = np.where(np.isfinite(gv))[0]
            y_sol = ys[fin[np.argmin(np.abs(gv[fin]))]]
        self.knee_top_deg = knee_at_top(float(y_sol))
        self.ball_world_y = float(y_sol)

    def _update_bracket(self):
        """rho interval around the SHK=180 solution on which SHK is monotone
        (decreasing in rho) and stays within [50, 290] deg."""
        ankle_yz, beta = self._foot(0.0)
        rs, vals = self._monotone_bracket(PoseState(180.0), ankle_yz, beta)
        ok = (vals > 50) & (vals < 290)
        cand = np.where(ok)[0]
        if len(cand) == 0:
            self.rho_bracket, self.shk_range = (rs[0], rs[-1]), (float(vals[0]), float(vals[-1]))
            return
        i0 = cand[np.argmin(np.abs(vals[cand] - 180.0))]
        lo = i0
        while lo > 0 and ok[lo - 1] and vals[lo - 1] > vals[lo]:
            lo -= 1
        hi = i0
        while hi < len(rs) - 1 and ok[hi + 1] and vals[hi + 1] < vals[hi]:
            hi += 1
        self.rho_bracket = (rs[lo], rs[hi])
        self.shk_range = (float(vals[hi]), float(vals[lo]))  # (min, max)

    # -------------------------------------------------------------------- pose
    def pose(self, st: PoseState) -> Posed:
        rho, ankle_yz, beta = self.solve_rho(st)
        rots, t, J, shk, (shl, shr), params = self._eval(rho, st, ankle_yz, beta, full=True)
        torch = self.torch
        P = self._P.clone()
        for n, R in rots.items():
            M = np.eye(4)
            M[:3, :3] = R
            P[0, self.idx[n]] = torch.from_numpy(M).float()
        with torch.no_grad():
            out = self.model(pose_parameters=P, phenotype_kwargs=self.phenotype)
        V = out["vertices"][0].double().numpy() + t
        placement, grip_gap = None, 0.0
        if self.load is not None:
            G0 = self.fk(rots)
            up = G0[self.idx["root"], :3, :3] @ np.array([0.0, 0.0, 1.0])
            placement = self.load.place(V, self.clear_vids, J, up)
            new, grip_gap = self._grip(G0, rots, t, self.load.grips(placement))
            G1 = self.fk(new)
            # linear-blend skinning of the arm vertices with the change of their bones
            X = np.concatenate([self.rest_v[self.arm_vids], np.ones((len(self.arm_vids), 1))], 1)
            dG = G1 - G0
            dV = np.zeros((len(X), 3))
            for j in range(self.arm_vbi.shape[1]):
                dV += self.arm_vbw[:, j, None] * np.einsum(
                    "vab,vb->va", dG[self.arm_vbi[:, j], :3], X
                )
            V[self.arm_vids] += dV
        for s, side in (("L", "left"), ("R", "right")):
            J[f"heel_{side}"] = V[self.heel_vid[s]].copy()
        heel_flat = self.rest_v[self.heel_vid["L"], 2] - self.sole_z
        lift = 0.5 * (J["heel_left"][2] + J["heel_right"][2]) - heel_flat
        knee = 0.5 * (
            joint_angle(J["hip_left"], J["knee_left"], J["ankle_left"])
            + joint_angle(J["hip_right"], J["knee_right"], J["ankle_right"])
        )
        params.update(beta=beta)
        return Posed(
            vertices=V,
            joints=J,
            shk_deg=shk,
            shk_left=shl,
            shk_right=shr,
            knee_deg=knee,
            lumbar_deg=st.lumbar_deg,
            heel_lift_m=float(lift),
            min_z=float(V[:, 2].min()),
            params=params,
            load=placement,
            grip_gap_m=float(grip_gap),
        )

    def find_bottom(self, clearance: float = 0.02) -> float:
        """Lowest SHK angle (hips lowest) with the buttocks `clearance` above the floor."""
        from scipy.optimize import brentq

        def gap(shk):
            p = self.pose(PoseState(shk))
            g = float(p.vertices[self.pelvis_vids, 2].min()) - clearance
            if p.load is not None:  # plates / dumbbell heads rest on the floor at the bottom
                g = min(g, self.load.min_z(p.load) - 0.003)
            return g

        lo = self.shk_range[0] + 0.5
        hi = 175.0
        if gap(lo) >= 0:
            return lo
        return brentq(gap, lo, hi, xtol=0.05)
