"""numpy + OpenCV painter's-algorithm renderer (pinhole camera, flat-shaded triangles).

World frame: see body.py (X lateral, Y along the body, Z up, floor Z = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

SS = 2  # supersampling factor
SHIFT = 4  # sub-pixel bits for cv2 polygon filling


@dataclass
class Camera:
    width: int
    height: int
    pos: np.ndarray  # (3,) world
    R: np.ndarray  # (3,3) world -> camera (rows: right, down, forward)
    f: float  # focal length in pixels (at output resolution)

    @classmethod
    def look_at(cls, width, height, pos, target, hfov_deg):
        pos = np.asarray(pos, float)
        fwd = np.asarray(target, float) - pos
        fwd /= np.linalg.norm(fwd)
        up = np.array([0.0, 0.0, 1.0])
        right = np.cross(fwd, up)
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        R = np.stack([right, down, fwd])
        f = 0.5 * width / math.tan(math.radians(hfov_deg) / 2)
        return cls(width, height, pos, R, f)

    @property
    def K(self):
        return np.array([[self.f, 0, self.width / 2], [0, self.f, self.height / 2], [0, 0, 1.0]])

    def to_cam(self, p):
        return (np.asarray(p) - self.pos) @ self.R.T

    def project(self, p, scale=1.0):
        c = self.to_cam(p)
        z = c[..., 2]
        zz = np.maximum(z, 1e-6)
        u = (self.f * c[..., 0] / zz + self.width / 2) * scale
        v = (self.f * c[..., 1] / zz + self.height / 2) * scale
        return np.stack([u, v], -1), z


def _clip_near(poly_cam: np.ndarray, near=0.05):
    """Sutherland-Hodgman clip of a camera-space polygon against z >= near."""
    out = []
    n = len(poly_cam)
    for i in range(n):
        a, b = poly_cam[i], poly_cam[(i + 1) % n]
        ina, inb = a[2] >= near, b[2] >= near
        if ina:
            out.append(a)
        if ina != inb:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out)


def _shade(normals, base_rgb, light_dir, key=0.75, fill=0.25, ambient=0.28, view_dir=None):
    n = normals / np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)
    l1 = light_dir / np.linalg.norm(light_dir)
    lam = np.clip(n @ l1, 0, 1)
    l2 = np.array([-l1[0], -l1[1], 0.6])
    l2 /= np.linalg.norm(l2)
    lam2 = np.clip(n @ l2, 0, 1)
    s = ambient + key * lam + fill * lam2
    return np.clip(base_rgb * s[..., None], 0, 255)


class Scene:
    """Static background (wall, plank floor, optional mat, bench box) rendered once."""

    def __init__(self, cam: Camera, cfg: dict, rng: np.random.Generator):
        self.cam = cam
        self.cfg = cfg
        self.light_dir = np.asarray(cfg["light_dir"], float)
        self.bg = self._render_background(rng)

    def _poly(self, img, pts_world, color):
        cam = self.cam
        pc = cam.to_cam(np.asarray(pts_world, float))
        pc = _clip_near(pc)
        if len(pc) < 3:
            return
        uv = (
            np.stack(
                [
                    cam.f * pc[:, 0] / pc[:, 2] + cam.width / 2,
                    cam.f * pc[:, 1] / pc[:, 2] + cam.height / 2,
                ],
                -1,
            )
            * SS
        )
        pts = np.round(uv * (1 << SHIFT)).astype(np.int64)
        if np.abs(pts).max() > 2**30:
            return
        cv2.fillPoly(
            img,
            [pts.astype(np.int32)],
            tuple(float(c) for c in color[::-1]),
            lineType=cv2.LINE_AA,
            shift=SHIFT,
        )

    def _shade_flat(self, color, normal):
        return _shade(np.asarray(normal, float)[None], np.asarray(color, float), self.light_dir)[0]

    def _render_background(self, rng):
        c = self.cfg
        W, H = self.cam.width * SS, self.cam.height * SS
        img = np.zeros((H, W, 3), np.uint8)
        img[:] = np.array(c["wall_rgb"][::-1]) * 0.6
        side = c["camera_x_sign"]  # camera at +X (1) or -X (-1)
        wall_x = -side * c["wall_dist"]
        big = 12.0
        # wall
        self._poly(
            img,
            [[wall_x, -big, 0], [wall_x, big, 0], [wall_x, big, 4], [wall_x, -big, 4]],
            self._shade_flat(c["wall_rgb"], [side, 0, 0]),
        )
        # skirting board
        self._poly(
            img,
            [
                [wall_x + side * 0.01, -big, 0],
                [wall_x + side * 0.01, big, 0],
                [wall_x + side * 0.01, big, 0.1],
                [wall_x + side * 0.01, -big, 0.1],
            ],
            self._shade_flat(np.array(c["wall_rgb"]) * 0.8, [side, 0, 0]),
        )
        # floor planks along Y, from the wall to behind the camera
        x0, x1 = wall_x, side * 8.0
        xa, xb = min(x0, x1), max(x0, x1)
        pw = c["plank_width"]
        base = np.asarray(c["floor_rgb"], float)
        x = xa
        while x < xb:
            tone = base * (0.9 + 0.2 * rng.random())
            y = -big
            while y < big:
                ln = rng.uniform(0.8, 2.2)
                t2 = tone * (0.95 + 0.1 * rng.random())
                self._poly(
                    img,
                    [[x, y, 0], [x + pw, y, 0], [x + pw, y + ln, 0], [x, y + ln, 0]],
                    self._shade_flat(t2, [0, 0, 1]),
                )
                y += ln + 0.004
            x += pw + 0.004
        if c.get("mat"):
            mx0, mx1, my0, my1 = c["mat"]
            self._poly(
                img,
                [[mx0, my0, 0.002], [mx1, my0, 0.002], [mx1, my1, 0.002], [mx0, my1, 0.002]],
                self._shade_flat(c["mat_rgb"], [0, 0, 1]),
            )
        if c.get("clutter"):
            self._clutter(img, c["clutter"])
        if c.get("bench"):
            self._bench(img, c["bench"])
        return img

    def _box_faces(self, xr, yr, zr, color, faces: list) -> None:
        """Append the camera-facing faces of an axis-aligned box to ``faces`` (for sorting)."""
        cx = self.cam.pos
        (xa, xb), (ya, yb), (za, zb) = xr, yr, zr
        quads = [
            ([[xa, ya, zb], [xb, ya, zb], [xb, yb, zb], [xa, yb, zb]], [0, 0, 1]),
            ([[xa, ya, za], [xb, ya, za], [xb, ya, zb], [xa, ya, zb]], [0, -1, 0]),
            ([[xa, yb, za], [xb, yb, za], [xb, yb, zb], [xa, yb, zb]], [0, 1, 0]),
            ([[xa, ya, za], [xa, yb, za], [xa, yb, zb], [xa, ya, zb]], [-1, 0, 0]),
            ([[xb, ya, za], [xb, yb, za], [xb, yb, zb], [xb, ya, zb]], [1, 0, 0]),
        ]
        for q, n in quads:
            ctr = np.mean(q, 0)
            if np.dot(np.asarray(n, float), cx - ctr) > 0:  # facing the camera
                faces.append((np.linalg.norm(ctr - cx), q, n, color))

    def _draw_faces(self, img, faces: list) -> None:
        for _, q, n, color in sorted(faces, key=lambda t: -t[0]):
            self._poly(img, q, self._shade_flat(color, n))

    def _bench(self, img, b):
        """Box bench: y in [y0, y0+depth], x in [-w/2, w/2], z in [0, h]; cushion on top."""
        y0, depth, w, h = b["y0"], b["depth"], b["width"], b["height"]
        col = np.asarray(b["rgb"], float)
        frame = np.asarray(b.get("frame_rgb", [60, 60, 65]), float)
        xs = (-w / 2, w / 2)
        ys = (y0, y0 + depth)
        faces: list = []
        # legs/base as a darker box under a cushion of 8 cm
        hc = h - 0.08
        inset = 0.05
        for xl in (xs[0] + inset, xs[1] - inset - 0.05):
            for yl in (ys[0] + inset, ys[1] - inset - 0.05):
                self._box_faces((xl, xl + 0.05), (yl, yl + 0.05), (0, hc), frame, faces)
        self._box_faces(
            (xs[0] + inset, xs[1] - inset),
            (ys[0] + inset, ys[1] - inset),
            (hc - 0.05, hc),
            frame,
            faces,
        )
        self._box_faces(xs, ys, (hc, h), col, faces)
        self._draw_faces(img, faces)

    def _clutter(self, img, boxes):
        """Gym clutter (benchmarks/synth/gym.py): boxes standing between the lifter and the wall."""
        faces: list = []
        for xr, yr, zr, rgb in boxes:
            self._box_faces(xr, yr, zr, np.asarray(rgb, float), faces)
        self._draw_faces(img, faces)


class BodyPainter:
    def __init__(self, faces: np.ndarray, vertex_rgb: np.ndarray, light_dir):
        self.faces = faces
        self.vrgb = vertex_rgb.astype(np.float64)
        self.face_rgb = self.vrgb[faces].mean(1)
        self.light_dir = np.asarray(light_dir, float)

    def draw(self, img, cam: Camera, V: np.ndarray, shadow=True, extra=None):
        """Body triangles (back-face culled in image space) and, optionally, `extra` =
        (tris (M,3,3), normals (M,3), rgb (M,3), key (M,3)) world triangles of a load, culled by
        their normals and sorted with the body by the camera depth of their `key` points."""
        F = self.faces
        if shadow:
            self._shadow(img, cam, V if extra is None else np.concatenate([V, extra[0][::3, 0]]))
        uv, z = cam.project(V, scale=SS)
        tri = uv[F]  # (T,3,2)
        # back-face culling in image space (y down): keep counter-clockwise-in-world = ?
        e1 = tri[:, 1] - tri[:, 0]
        e2 = tri[:, 2] - tri[:, 0]
        area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        keep = area < 0
        keep &= (z[F] > 0.05).all(1)
        idx = np.where(keep)[0]
        P = V[F[idx]]
        n = np.cross(P[:, 1] - P[:, 0], P[:, 2] - P[:, 0])
        col = _shade(n, self.face_rgb[idx], self.light_dir)
        depth = z[F[idx]].mean(1)
        pts = tri[idx]
        if extra is not None:
            et, en, ec, ek = extra
            vis = ((cam.pos - et.mean(1)) * en).sum(1) > 0
            et, en, ec, ek = et[vis], en[vis], ec[vis], ek[vis]
            euv, ez = cam.project(et.reshape(-1, 3), scale=SS)
            ok = (ez.reshape(-1, 3) > 0.05).all(1)
            pts = np.concatenate([pts, euv.reshape(-1, 3, 2)[ok]])
            col = np.concatenate([col, _shade(en[ok], ec[ok], self.light_dir)])
            depth = np.concatenate([depth, cam.to_cam(ek[ok])[:, 2]])
        order = np.argsort(-depth, kind="stable")
        pts = np.round(pts[order] * (1 << SHIFT)).astype(np.int32)
        cols = col[order][:, ::-1]  # BGR
        fill = cv2.fillConvexPoly
        for p, c in zip(pts, cols.tolist()):
            fill(img, p, c, cv2.LINE_8, SHIFT)
        return img

    def _shadow(self, img, cam, V):
        """Soft contact shadow: the body's vertices dropped on the floor, blurred."""
        sub = V[::7]
        hgt = np.clip(sub[:, 2], 0, None)
        flo = sub.copy()
        flo[:, 2] = 0.0
        uv, z = cam.project(flo, scale=SS / 4)
        h, w = img.shape[0] // 4, img.shape[1] // 4
        mask = np.zeros((h, w), np.float32)
        strength = np.exp(-hgt / 0.12)
        ok = z > 0.1
        u = np.clip(uv[ok, 0].astype(int), 0, w - 1)
        v = np.clip(uv[ok, 1].astype(int), 0, h - 1)
        np.maximum.at(mask, (v, u), strength[ok].astype(np.float32))
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        mask = cv2.GaussianBlur(mask, (0, 0), 2.5)
        mask = cv2.resize(mask, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
        img[:] = (img * (1.0 - 0.45 * np.clip(mask, 0, 1))[..., None]).astype(np.uint8)


def downsample(img):
    return cv2.resize(img, (img.shape[1] // SS, img.shape[0] // SS), interpolation=cv2.INTER_AREA)


# ----------------------------------------------------------------- clothing
def vertex_colors(body, clothes: dict) -> np.ndarray:
    """Per-vertex RGB by body region, from the standing rest pose of `body`."""
    v = body.rest_v
    q, I = body.q, body.idx
    names = body.names
    dom = body.dom_bone
    rgb = np.tile(np.asarray(clothes["skin"], float), (len(v), 1))
    z = v[:, 2]
    hip_z = q[I["upperleg01.L"], 2]
    knee_z = q[I["lowerleg01.L"], 2]
    ankle_z = q[I["foot.L"], 2]
    neck_z = q[I["neck01"], 2]
    sh_z = q[I["upperarm01.L"], 2]
    arm_bones = {
        I[n]
        for n in names
        if n.startswith(("upperarm", "lowerarm", "wrist", "finger", "metacarpal"))
    }
    upper_arm = {
        I["upperarm01.L"],
        I["upperarm01.R"],
        I["shoulder01.L"],
        I["shoulder01.R"],
        I["clavicle.L"],
        I["clavicle.R"],
    }
    is_arm = np.isin(dom, list(arm_bones))
    # shirt: trunk between the waist and the neck, plus the sleeves
    waist_z = hip_z + 0.10 + clothes.get("shirt_drop", 0.0)
    sleeve = clothes.get("sleeve", 0.12)
    shirt = (~is_arm) & (z > waist_z) & (z < neck_z - 0.01)
    lat = np.abs(v[:, 0])
    sh_x = abs(q[I["upperarm01.L"], 0])
    shirt |= np.isin(dom, list(upper_arm)) & (z > sh_z - sleeve)
    shirt |= is_arm & (lat < sh_x + sleeve * 0.8) & (z > sh_z - sleeve)
    rgb[shirt] = clothes["shirt"]
    # shorts / leggings
    bottom_z = hip_z - clothes.get("shorts_len", 0.45) * (hip_z - knee_z)
    shorts = (~is_arm) & (z <= waist_z) & (z > bottom_z)
    rgb[shorts] = clothes["shorts"]
    # socks + shoes
    feet = np.isin(dom, [I[n] for n in names if n.startswith(("foot", "toe"))])
    rgb[(z < ankle_z + 0.10) & (~is_arm)] = clothes.get("socks", [235, 235, 235])
    rgb[feet | ((z < ankle_z + 0.02) & (~is_arm))] = clothes["shoes"]
    # hair: top / back of the head
    head = np.isin(dom, [I["head"]])
    eye_z = q[I["eye.L"], 2] if "eye.L" in I else neck_z + 0.15
    head_y = q[I["head"], 1]
    hair = head & ((z > eye_z + 0.035) | ((v[:, 1] > head_y + 0.01) & (z > neck_z + 0.07)))
    rgb[hair] = clothes["hair"]
    eyes = np.isin(dom, [I[n] for n in ("eye.L", "eye.R") if n in I])
    rgb[eyes] = [40, 30, 25]
    return rgb
