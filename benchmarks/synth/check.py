"""Self-check of rendered clips: decode, label consistency, contact sheet, MediaPipe.

    python -m benchmarks.synth.check DIR_OR_LABEL... [--sheet OUT.png] [--mediapipe MODEL.task] [--every N]

Prints, per clip: frames decoded vs labelled, reps/attempts with faults, and (with
--mediapipe) the detection rate and the pixel error of MediaPipe's landmarks against
the projected joint centres, plus the 2-D SHK angle (near side) against the label.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

MP_IDX = {
    "shoulder_left": 11,
    "shoulder_right": 12,
    "hip_left": 23,
    "hip_right": 24,
    "knee_left": 25,
    "knee_right": 26,
    "ankle_left": 27,
    "ankle_right": 28,
    "heel_left": 29,
    "heel_right": 30,
}


def angle2d(s, h, k):
    a, b = s - h, k - h
    c = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


def check(label_path: Path, sheet: Path | None, model: str | None, every: int):
    lab = json.loads(label_path.read_text())
    vid = label_path.parent / lab["video"]
    cap = cv2.VideoCapture(str(vid))
    frames = []
    n = 0
    pick = set(np.linspace(0, lab["frames"] - 1, 8).astype(int).tolist())
    grab = {}
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if n in pick:
            grab[n] = f
        if model and n % every == 0:
            frames.append((n, f))
        n += 1
    print(
        f"{lab['name']}: decoded {n} / labelled {lab['frames']} frames, {lab['width']}x{lab['height']}@{lab['fps']}"
        f", {vid.stat().st_size / 1e6:.2f} MB"
    )
    for r in lab.get("reps", []):
        print(
            f"  rep {r['index']}: peak {r['peak_angle_deg']:.1f} hold {r['hold_s']:.2f} ecc {r['eccentric_s']:.2f} "
            f"lumbar {r['lumbar_extension_deg']:.1f} heel {r['heel_lift_m'] * 100:.1f}cm knee {r['knee_angle_top_deg']:.0f} "
            f"faults={r['faults']} clear={r['clear_cut']} intended={r['intended']}"
        )
    load = lab.get("load") or {"kind": "none"}
    if load["kind"] != "none":
        print("  load: " + ", ".join(f"{k}={v}" for k, v in load.items()))
    for r in lab.get("attempts", []):
        print(f"  attempt {r['index']}: peak {r['peak_angle_deg']:.1f}")
    pf = lab.get("per_frame")
    if sheet and grab:
        tiles = []
        for i in sorted(grab):
            f = grab[i].copy()
            if pf:
                for name, pts in pf["joints_2d"].items():
                    u, v = pts[i]
                    col = (0, 255, 0) if name.endswith("left") else (0, 0, 255)
                    cv2.circle(f, (int(u), int(v)), 4, col, -1)
                if "load_near_center_2d" in pf:  # the labelled load: near face, radius, box
                    u, v = pf["load_near_center_2d"][i]
                    r = pf["load_radius_px"][i]
                    cv2.circle(f, (int(u), int(v)), max(1, int(r)), (0, 255, 255), 1)
                    cv2.drawMarker(f, (int(u), int(v)), (0, 255, 255), cv2.MARKER_CROSS, 10, 1)
                    u, v = pf["load_center_2d"][i]
                    cv2.drawMarker(
                        f, (int(u), int(v)), (255, 0, 255), cv2.MARKER_TILTED_CROSS, 8, 1
                    )
                    x0, y0, x1, y1 = (int(c) for c in pf["load_bbox_2d"][i])
                    cv2.rectangle(f, (x0, y0), (x1, y1), (255, 255, 0), 1)
                cv2.putText(
                    f,
                    f"{i} shk={pf['shk_angle_3d_deg'][i]:.1f}",
                    (10, 30),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.8,
                    (255, 255, 255),
                    2,
                )
            tiles.append(cv2.resize(f, (480, int(480 * f.shape[0] / f.shape[1]))))
        while len(tiles) % 2:
            tiles.append(np.zeros_like(tiles[0]))
        rows = [np.hstack(tiles[k : k + 2]) for k in range(0, len(tiles), 2)]
        cv2.imwrite(str(sheet), np.vstack(rows))
    if model and pf is not None:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        opts = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=model), running_mode=RunningMode.IMAGE
        )
        det = 0
        errs = {k: [] for k in MP_IDX}
        dang, dproj = [], []
        near = lab["camera_side"]
        with PoseLandmarker.create_from_options(opts) as lm:
            for i, f in frames:
                img = mp.Image(
                    image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(f, cv2.COLOR_BGR2RGB)
                )
                res = lm.detect(img)
                if not res.pose_landmarks:
                    continue
                det += 1
                L = res.pose_landmarks[0]
                P = {
                    k: np.array([L[j].x * lab["width"], L[j].y * lab["height"]])
                    for k, j in MP_IDX.items()
                }
                for k in MP_IDX:
                    errs[k].append(np.linalg.norm(P[k] - np.array(pf["joints_2d"][k][i])))
                a = angle2d(P[f"shoulder_{near}"], P[f"hip_{near}"], P[f"knee_{near}"])
                ref = min(pf["shk_angle_3d_deg"][i], 360 - pf["shk_angle_3d_deg"][i])
                dang.append(float(a) - ref)
                G = {k: np.array(pf["joints_2d"][k][i]) for k in MP_IDX}
                dproj.append(
                    float(angle2d(G[f"shoulder_{near}"], G[f"hip_{near}"], G[f"knee_{near}"])) - ref
                )
        print(f"  mediapipe: detected {det}/{len(frames)} sampled frames")
        if det:
            print(
                "  px error median: "
                + ", ".join(f"{k}={np.median(v):.1f}" for k, v in errs.items())
            )
            print(
                f"  2-D near-side SHK minus label (folded to <=180): median {np.median(dang):+.1f}, "
                f"p90 |d| {np.percentile(np.abs(dang), 90):.1f} deg; projected true near-side joints minus label: "
                f"median {np.median(dproj):+.1f}"
            )


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--sheet", help="contact-sheet PNG (one clip) or directory (many)")
    ap.add_argument("--mediapipe", help="pose_landmarker .task bundle")
    ap.add_argument("--every", type=int, default=10)
    a = ap.parse_args(argv)
    labels = []
    for p in map(Path, a.paths):
        labels += sorted(p.glob("*.label.json")) if p.is_dir() else [p]
    for lp in labels:
        sheet = None
        if a.sheet:
            s = Path(a.sheet)
            sheet = (
                s / (lp.name.replace(".label.json", ".png"))
                if (s.is_dir() or len(labels) > 1)
                else s
            )
            sheet.parent.mkdir(parents=True, exist_ok=True)
        check(lp, sheet, a.mediapipe, a.every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
