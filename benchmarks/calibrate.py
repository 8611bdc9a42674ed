"""Fit the angle-bias model on labelled clips and (with --write) ship it.

    python benchmarks/calibrate.py DIR [--split calibration] [--write] [--features yaw,midline]
    python benchmarks/calibrate.py DIR --thresholds [--split calibration] [--write]

For every rep matched to a label (time overlap), the raw landmark angle at the top minus the
true angle is the bias to predict. A least-squares linear model on per-set features (camera yaw,
trunk thickness, the silhouette midline bias) is fitted and compared, by leave-one-clip-out
cross-validation, with a constant. With ``--write`` the winner goes to
``src/formcheck/calibration.toml``. Use the ``calibration`` split only; score on ``test``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import ROOT, cached_track, load_labels, match  # noqa: E402

FEATURES = ("yaw", "thickness", "midline")
TOML = Path(__file__).resolve().parents[1] / "src" / "formcheck" / "calibration.toml"


def threshold_rows(folder: Path, split: str, cache: Path) -> list[dict]:
    """Per matched rep: the silhouette arch, heel rise and the labelled faults (with the
    calibrated bias applied, as the analyser runs)."""
    from formcheck.pipeline import analyze_track
    from formcheck.rules import load_profile

    rows = []
    for lab in load_labels(folder, split):
        track = cached_track(lab["_video"], cache)
        s = analyze_track(track, load_profile(lab["exercise"])).session
        pred = [r.to_dict() for r in s.reps]
        for i, j in match(pred, lab["reps"], float(lab["fps"])):
            if i is None or j is None:
                continue
            t = lab["reps"][j]
            rows.append({"clip": lab["name"], "arch": pred[i]["lumbar"]["silhouette_deg"],
                         "arch_conf": pred[i]["lumbar"]["silhouette_confidence"],
                         "heel": pred[i]["heel_rise_m"], "faults": t["faults"],
                         "clear_cut": t.get("clear_cut", True)})
    return rows


def best_threshold(values, truth, candidates) -> tuple[float, float, float, float]:
    """Threshold (flag when value > thr) with the best F1; ties go to the higher threshold."""
    best = (-1.0, 0.0, 0.0, 0.0)
    for thr in candidates:
        tp = sum(v is not None and v > thr and t for v, t in zip(values, truth))
        fp = sum(v is not None and v > thr and not t for v, t in zip(values, truth))
        fn = sum((v is None or v <= thr) and t for v, t in zip(values, truth))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 >= best[0]:
            best = (f1, float(thr), p, r)
    return best


def calibrate_thresholds(folder: Path, split: str, cache: Path, write: bool) -> None:
    rows = threshold_rows(folder, split, cache)
    arch_rows = [r for r in rows if r["arch_conf"] >= 0.5]
    f1, thr_a, p, r = best_threshold([r["arch"] for r in arch_rows],
                                     ["lumbar_arch" in r["faults"] for r in arch_rows],
                                     np.arange(10, 90.5, 0.5))
    print(f"lumbar_arch: max_arch_deg {thr_a:.1f}  (F1 {f1:.2f}, P {p:.2f}, R {r:.2f}, "
          f"{len(arch_rows)} reps in usable views)")
    f1h, thr_h, ph, rh = best_threshold([r["heel"] for r in rows],
                                        ["heel_lift" in r["faults"] for r in rows],
                                        np.arange(0.01, 0.10, 0.0025))
    print(f"heel_lift: max_heel_rise_m {thr_h:.4f}  (F1 {f1h:.2f}, P {ph:.2f}, R {rh:.2f})")
    if write:
        import re
        for prof in ("hip_thrust", "glute_bridge"):
            p_ = TOML.parent / "profiles" / f"{prof}.toml"
            text = p_.read_text()
            text = re.sub(r"max_arch_deg = [0-9.]+", f"max_arch_deg = {thr_a:.1f}", text)
            text = re.sub(r"max_heel_rise_m = [0-9.]+", f"max_heel_rise_m = {thr_h:.4f}", text)
            p_.write_text(text)
        print("wrote the thresholds into src/formcheck/profiles/*.toml")


def collect(folder: Path, split: str, cache: Path) -> list[dict]:
    from formcheck.calibration import BiasModel
    from formcheck.pipeline import analyze_track
    from formcheck.rules import load_profile

    rows = []
    for lab in load_labels(folder, split):
        track = cached_track(lab["_video"], cache)
        s = analyze_track(track, load_profile(lab["exercise"]),
                          bias_model=BiasModel(intercept_deg=0.0)).session
        pred = [r.to_dict() for r in s.reps + s.attempts]
        truth = lab["reps"] + lab.get("attempts", [])
        for i, j in match(pred, truth, float(lab["fps"])):
            if i is None or j is None:
                continue
            rows.append({"clip": lab["name"], "err": pred[i]["peak_angle_raw_deg"] -
                         truth[j]["peak_angle_deg"],
                         "yaw": abs(s.camera["yaw_deg"] or 0.0),
                         "thickness": s.calibration["trunk_thickness"],
                         "midline": s.calibration["midline_bias_deg"],
                         "exercise": lab["exercise"]})
    return rows


def design(rows, feats, means):
    x = [[1.0] + [r[f] if np.isfinite(r[f]) else means[f] for f in feats] for r in rows]
    return np.array(x, float)


def fit(rows, feats):
    means = {f: float(np.nanmean([r[f] for r in rows])) for f in FEATURES}
    X = design(rows, feats, means)
    y = np.array([r["err"] for r in rows])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return coef, means


def loco(rows, feats) -> float:
    """Leave-one-clip-out median absolute error of the corrected angle."""
    clips = sorted({r["clip"] for r in rows})
    errs = []
    for c in clips:
        train = [r for r in rows if r["clip"] != c]
        test = [r for r in rows if r["clip"] == c]
        coef, means = fit(train, feats)
        pred = design(test, feats, means) @ coef
        errs += list(np.array([r["err"] for r in test]) - pred)
    return float(np.median(np.abs(errs)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--split", default="calibration")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--features", default=None, help="comma list; default: best by LOCO")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--thresholds", action="store_true",
                    help="fit the lumbar_arch and heel_lift thresholds (after the bias)")
    args = ap.parse_args()
    cache = args.cache or (ROOT / "results" / "tracks" / args.folder.name)
    if args.thresholds:
        calibrate_thresholds(args.folder, args.split, cache, args.write)
        return
    rows = collect(args.folder, args.split, cache)
    if len(rows) < 5:
        raise SystemExit(f"only {len(rows)} matched reps: too few to calibrate")
    err = np.array([r["err"] for r in rows])
    print(f"{len(rows)} reps from {len({r['clip'] for r in rows})} clips "
          f"({args.folder}, split {args.split})")
    print(f"raw bias: mean {err.mean():.2f}, sd {err.std():.2f}, "
          f"range {err.min():.1f}..{err.max():.1f} deg")
    candidates = [(), ("midline",), ("yaw",), ("yaw", "midline"), ("thickness",),
                  ("yaw", "thickness", "midline")]
    if args.features:
        candidates = [tuple(f for f in args.features.split(",") if f and f != "constant")]
    results = []
    print(f"{'features':<28} {'LOCO median |err|':>18}")
    for feats in candidates:
        score = loco(rows, feats)
        results.append((score, feats))
        print(f"{','.join(feats) or 'constant':<28} {score:>17.2f}°")
    # the simplest model within 0.1 deg of the best (extra terms must earn their place)
    best = min(r[0] for r in results)
    score, feats = min((r for r in results if r[0] <= best + 0.1), key=lambda r: len(r[1]))
    coef, means = fit(rows, feats)
    resid = err - design(rows, feats, means) @ coef
    named = dict(zip(("intercept",) + feats, coef))
    print(f"chosen: {','.join(feats) or 'constant'}  coefficients "
          + ", ".join(f"{k}={v:.3f}" for k, v in named.items())
          + f"  residual sd {resid.std():.2f}°")
    if args.write:
        lines = [
            "# Angle bias model (degrees): true angle = raw landmark angle - bias.",
            f"# Fitted by benchmarks/calibrate.py on {args.folder.name} (split {args.split}):",
            f"# {len(rows)} reps, {len({r['clip'] for r in rows})} clips; "
            f"leave-one-clip-out median |error| {score:.2f} deg.",
            "[bias]",
            f"intercept_deg = {named['intercept']:.4f}",
            f"yaw_coef = {named.get('yaw', 0.0):.4f}",
            f"thickness_coef = {named.get('thickness', 0.0):.4f}",
            "thickness_ref = 0.0",
            f"midline_coef = {named.get('midline', 0.0):.4f}",
            f"midline_fallback_deg = {means['midline']:.4f}",
            f"residual_sd_deg = {resid.std():.4f}",
            f'fitted_on = "{args.folder.name}:{args.split}"',
            f'source = "calibrated: {",".join(feats) or "constant"} on {args.folder.name}/'
            f'{args.split}"',
        ]
        TOML.write_text("\n".join(lines) + "\n")
        print(f"wrote {TOML}")


if __name__ == "__main__":
    main()
