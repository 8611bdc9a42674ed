"""Fit the angle-bias models (one per exercise) on labelled clips and (with --write) ship them.

    python benchmarks/calibrate.py DIR [DIR ...] [--split calibration|test|all] [--write]
                                   [--features midline,world]
    python benchmarks/calibrate.py DIR [DIR ...] --thresholds [--split calibration] [--write]
                                   [--write-only lumbar_hip_thrust,lumbar_glute_bridge,heel]

The shipped thresholds came from different clips (docs/accuracy.md): the hip thrust's
lumbar_arch rise and heel_lift from the calibration halves of large and arch, the glute
bridge's lumbar_arch rise from all of large, arch, sag, blind, fresh and yawed; --write-only
writes just the named ones, so one run does not overwrite the others.

For every rep matched to a label (time overlap) whose spine is straight (labelled lumbar
extension under 8 deg: an arch moves the landmarks, and that is the fault, not the bias), the
raw image-plane landmark angle at the top minus the true angle is the bias to predict. For each
exercise, least-squares linear models on per-set features (the view's yaw, trunk thickness, the
silhouette midline bias), the per-rep difference between the world-landmark and the image
angle at the top ("world": its coefficient, negated, is the fusion weight ``world_weight``)
and, as gain terms, the true peak's departure from 180 deg ("gain") and that times the yaw
("gain_yaw"; their coefficients are ``gain_slope`` and ``gain_yaw_coef``) are compared by
leave-one-clip-out cross-validation over matched reps and attempts; the simplest whose mean
squared error is within one standard error of the best wins (the one-standard-error rule: a
term must beat the cross-validation's own noise). With ``--write`` both go to
``src/formcheck/calibration.toml``.
The clips fitted on must not be the clips scored: ``docs/accuracy.md`` says which were which.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import ROOT, cached_track, load_labels, match  # noqa: E402
from formcheck.core.rules import EXERCISES  # noqa: E402

FEATURES = ("yaw", "thickness", "midline", "world", "gain", "gain_yaw")
TOML = Path(__file__).resolve().parents[1] / "src" / "formcheck" / "calibration.toml"


def threshold_rows(folder: Path, split: str, cache: Path) -> list[dict]:
    """Per matched rep: the silhouette arch, heel rise and the labelled faults (with the
    calibrated bias applied, as the analyser runs)."""
    from formcheck.analysis import analyze_track
    from formcheck.core.rules import load_profile

    rows = []
    for lab in load_labels(folder, split):
        track = cached_track(lab["_video"], cache)
        s = analyze_track(track, load_profile(lab["exercise"])).session
        pred = [r.to_dict() for r in s.reps]
        for i, j in match(pred, lab["reps"], float(lab["fps"])):
            if i is None or j is None:
                continue
            t = lab["reps"][j]
            rows.append(
                {
                    "clip": lab["name"],
                    "arch": pred[i]["lumbar"]["silhouette_deg"],
                    "arch_conf": pred[i]["lumbar"]["silhouette_confidence"],
                    "heel": pred[i]["heel_rise_m"],
                    "faults": t["faults"],
                    "exercise": lab["exercise"],
                    "arch_base": pred[i]["lumbar"]["silhouette_set_baseline_deg"],
                    "arch_n": pred[i]["lumbar"]["silhouette_set_reps"],
                    "hyper_flagged": "hyperextension" in pred[i]["faults"],
                    "sag_flagged": "sag" in pred[i]["faults"],
                    "clear_cut": t.get("clear_cut", True),
                }
            )
    return rows


def best_rule(flags, truth, candidates) -> tuple[float, float, float, float]:
    """``(F1, threshold, precision, recall)`` of the candidate threshold whose flags
    (``flags(thr)``: one bool per rep) best match ``truth``; ties go to the higher threshold."""
    best = (-1.0, 0.0, 0.0, 0.0)
    for thr in candidates:
        pred = flags(thr)
        tp = sum(a and b for a, b in zip(pred, truth))
        fp = sum(a and not b for a, b in zip(pred, truth))
        fn = sum(b and not a for a, b in zip(pred, truth))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 >= best[0]:
            best = (f1, float(thr), p, r)
    return best


def best_threshold(values, truth, candidates) -> tuple[float, float, float, float]:
    """Threshold (flag when value > thr) with the best F1; ties go to the higher threshold."""
    return best_rule(lambda thr: [v is not None and v > thr for v in values], truth, candidates)


def noise_and_effect(rows: list[dict]) -> str:
    """Rep-to-rep noise of the silhouette measure (SD of clear straight reps about their clip's
    mean; clips with 2+ such reps) and the clear arches' rise over that mean, in words."""
    res, eff = [], []
    for clip in {r["clip"] for r in rows}:
        cr = [r for r in rows if r["clip"] == clip and r["arch"] is not None and r["clear_cut"]]
        st = [r["arch"] for r in cr if "lumbar_arch" not in r["faults"]]
        ar = [r["arch"] for r in cr if "lumbar_arch" in r["faults"]]
        if len(st) >= 2:
            res += list(np.array(st) - np.mean(st))
        if st and ar:
            eff += list(np.array(ar) - np.mean(st))
    if len(res) < 2:
        return "too few straight reps for the noise"
    sd = float(np.std(res, ddof=1))
    text = f"straight reps vary SD {sd:.2f} deg about their clip's mean ({len(res)} reps)"
    if eff:
        text += (
            f"; clear arches rise median {np.median(eff):.1f}, lower quartile "
            f"{np.percentile(eff, 25):.1f} deg over it ({len(eff)} reps)"
        )
    return text


THRESHOLD_NAMES = ("lumbar_hip_thrust", "lumbar_glute_bridge", "heel")


def calibrate_thresholds(
    folders: list[Path],
    split: str,
    caches: list[Path],
    write: bool,
    write_only: tuple[str, ...] = THRESHOLD_NAMES,
) -> None:
    rows = [r for f, c in zip(folders, caches) for r in threshold_rows(f, split, c)]
    # lumbar_arch: per exercise (a bridge's outline differs from a hip thrust's), over the reps
    # the rule looks at (usable view, hips on the line: not flagged as sag or hyperextension;
    # the set baseline comes from those reps too, as in the analyser). One number:
    # min_arch_rise_deg, the F1-best rise of a rep's silhouette measure over the set's baseline
    # (core.measures.arch_baseline, with the profile's measure and min_set_reps). No absolute limit
    # is fitted: a straight back's reading differs a lot between bodies and cameras (printed
    # below), and absolute limits fitted here (29 / 39.5 deg) false-flagged straight backs on
    # fresh bodies (docs/accuracy.md). Also printed: the SD of straight reps about their clip's
    # mean (the rep-to-rep noise the rise must clear) and the arched reps' rise over it.
    from formcheck.core.rules import load_profile

    thr_arch = {}
    for ex in ("hip_thrust", "glute_bridge"):
        n_min = load_profile(ex).rules.lumbar_arch.min_set_reps
        ex_rows = [r for r in rows if r["exercise"] == ex]
        arch_rows = [
            r
            for r in ex_rows
            if r["arch_conf"] >= 0.5 and not r["hyper_flagged"] and not r["sag_flagged"]
        ]
        truth = ["lumbar_arch" in r["faults"] for r in arch_rows]
        rises = [
            (r["arch"] - r["arch_base"])
            if (r["arch"] is not None and r["arch_base"] is not None and r["arch_n"] >= n_min)
            else None
            for r in arch_rows
        ]
        best = best_rule(
            lambda t_rel, rises=rises: [d is not None and d >= t_rel for d in rises],
            truth,
            np.arange(0, 30.25, 0.25),
        )
        print(f"lumbar_arch ({ex}): {noise_and_effect(arch_rows)}")
        thr_arch[ex] = best[1]
        straight = [r["arch"] for r, t in zip(arch_rows, truth) if not t and r["arch"] is not None]
        spread = (
            f"straight backs read {min(straight):.0f}..{max(straight):.0f} deg"
            if straight
            else "no straight reps"
        )
        print(
            f"lumbar_arch ({ex}, {len(arch_rows)} reps in usable views, {sum(truth)} arched; "
            f"{spread}): min_arch_rise_deg {best[1]:.1f}: F1 {best[0]:.2f} "
            f"(P {best[2]:.2f} R {best[3]:.2f})"
        )
    f1h, thr_h, ph, rh = best_threshold(
        [r["heel"] for r in rows],
        ["heel_lift" in r["faults"] for r in rows],
        np.arange(0.01, 0.10, 0.0025),
    )
    print(f"heel_lift: max_heel_rise_m {thr_h:.4f}  (F1 {f1h:.2f}, P {ph:.2f}, R {rh:.2f})")
    if write:
        import re

        for prof in ("hip_thrust", "glute_bridge"):
            p_ = TOML.parent / "profiles" / f"{prof}.toml"
            text = p_.read_text()
            if f"lumbar_{prof}" in write_only:
                text = re.sub(
                    r"min_arch_rise_deg = [0-9.]+",
                    f"min_arch_rise_deg = {thr_arch[prof]:.1f}",
                    text,
                )
            if "heel" in write_only:
                text = re.sub(r"max_heel_rise_m = [0-9.]+", f"max_heel_rise_m = {thr_h:.4f}", text)
            p_.write_text(text)
        print(f"wrote {', '.join(write_only)} into src/formcheck/profiles/*.toml")


#: Reps with a labelled lumbar extension at or over this are left out of the bias fit.
STRAIGHT_SPINE_MAX_DEG = 8.0


def collect(folder: Path, split: str, cache: Path) -> list[dict]:
    from formcheck.analysis import analyze_track
    from formcheck.core.bias import BiasModel
    from formcheck.core.rules import load_profile

    rows = []
    for lab in load_labels(folder, split):
        track = cached_track(lab["_video"], cache)
        a = analyze_track(
            track, load_profile(lab["exercise"]), bias_model=BiasModel(intercept_deg=0.0)
        )
        s = a.session
        # world-landmark angle minus image angle, per frame (the fusion's regressor)
        dworld = a.frames["shk_angle_world_deg"] - a.frames["shk_angle_raw_deg"]
        pred = [r.to_dict() for r in s.reps + s.attempts]
        truth = lab["reps"] + lab.get("attempts", [])
        yaw = abs(s.camera.yaw_deg or 0.0)
        for i, j in match(pred, truth, float(lab["fps"])):
            if (
                i is None
                or j is None
                or truth[j].get("lumbar_extension_deg", 0.0) >= STRAIGHT_SPINE_MAX_DEG
            ):
                continue
            rows.append(
                {
                    "clip": lab["name"],
                    "err": pred[i]["peak_angle_raw_deg"] - truth[j]["peak_angle_deg"],
                    "yaw": yaw,
                    "thickness": s.calibration.trunk_thickness,
                    "midline": s.calibration.midline_bias_deg,
                    "world": _top_median(dworld, pred[i]),
                    "gain": truth[j]["peak_angle_deg"] - 180.0,
                    "gain_yaw": (truth[j]["peak_angle_deg"] - 180.0) * yaw,
                    "exercise": lab["exercise"],
                }
            )
    return rows


def _top_median(x: np.ndarray, rep: dict) -> float:
    seg = x[rep["top_start_frame"] : rep["top_end_frame"] + 1]
    return float(np.nanmedian(seg)) if np.isfinite(seg).any() else float("nan")


def design(rows, feats, means):
    x = [[1.0] + [r[f] if np.isfinite(r[f]) else means[f] for f in feats] for r in rows]
    return np.array(x, float)


def fit(rows, feats):
    means = {f: float(np.nanmean([r[f] for r in rows])) for f in FEATURES}
    X = design(rows, feats, means)
    y = np.array([r["err"] for r in rows])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return coef, means


def loco(rows, feats) -> tuple[float, float, int, float]:
    """Leave-one-clip-out cross-validation of the corrected angle: RMS and median absolute
    error (degrees), how many reps it leaves more than 8 degrees off, and the standard error of
    the mean squared error over clips (deg^2; for the one-standard-error rule)."""
    clips = sorted({r["clip"] for r in rows})
    errs, clip_mse = [], []
    for c in clips:
        train = [r for r in rows if r["clip"] != c]
        test = [r for r in rows if r["clip"] == c]
        coef, means = fit(train, feats)
        pred = design(test, feats, means) @ coef
        e = np.array([r["err"] for r in test]) - pred
        errs += list(e)
        clip_mse.append(float(np.mean(e**2)))
    errs = np.asarray(errs)
    return (
        float(np.sqrt(np.mean(errs**2))),
        float(np.median(np.abs(errs))),
        int(np.sum(np.abs(errs) > 8.0)),
        float(np.std(clip_mse, ddof=1) / np.sqrt(len(clip_mse))) if len(clips) > 1 else 0.0,
    )


def choose(rows: list[dict], candidates) -> tuple[tuple, float, float]:
    """The simplest feature set whose leave-one-clip-out mean squared error is within one
    standard error of the best's (the "one-standard-error rule": extra terms must earn their
    place by more than the cross-validation's own noise)."""
    results = []
    print(f"{'features':<28} {'LOCO RMS':>9} {'LOCO median |err|':>18} {'>8 deg':>7}")
    for feats in candidates:
        score, med, big, se = loco(rows, feats)
        results.append((score, feats, med, se))
        print(f"{','.join(feats) or 'constant':<28} {score:>8.2f}° {med:>17.2f}° {big:>7d}")
    best = min(results, key=lambda r: r[0])
    limit = np.sqrt(best[0] ** 2 + best[3])
    score, feats, med, _ = min(
        (r for r in results if r[0] <= limit), key=lambda r: (len(r[1]), r[0])
    )
    print(f"best {best[0]:.2f}°; one standard error allows up to {limit:.2f}°")
    return feats, score, med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", type=Path, nargs="+", metavar="DIR")
    ap.add_argument("--split", default="calibration", help="calibration (default), test or all")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--features", default=None, help="comma list; default: best by LOCO")
    ap.add_argument("--write", action="store_true")
    ap.add_argument(
        "--thresholds",
        action="store_true",
        help="fit the lumbar_arch and heel_lift thresholds (after the bias)",
    )
    ap.add_argument(
        "--write-only",
        default=",".join(THRESHOLD_NAMES),
        help="with --thresholds --write: which to write (comma list of "
        f"{', '.join(THRESHOLD_NAMES)}; default all)",
    )
    args = ap.parse_args()
    write_only = tuple(w.strip() for w in args.write_only.split(",") if w.strip())
    if not set(write_only) <= set(THRESHOLD_NAMES):
        ap.error(f"--write-only takes {', '.join(THRESHOLD_NAMES)}")
    caches = [args.cache or (ROOT / "results" / "tracks" / f.name) for f in args.folders]
    names = "+".join(f.name for f in args.folders)
    if args.thresholds:
        calibrate_thresholds(args.folders, args.split, caches, args.write, write_only)
        return
    rows = [r for f, c in zip(args.folders, caches) for r in collect(f, args.split, c)]
    base = [
        (),
        ("midline",),
        ("yaw",),
        ("yaw", "midline"),
        ("thickness",),
        ("yaw", "thickness", "midline"),
        ("world",),
        ("midline", "world"),
        ("yaw", "midline", "world"),
        ("yaw", "thickness", "midline", "world"),
    ]
    candidates = [b + g for g in ((), ("gain",), ("gain", "gain_yaw")) for b in base]
    if args.features:
        candidates = [tuple(f for f in args.features.split(",") if f and f != "constant")]
    lines = [
        "# Angle bias models (degrees), one per exercise: true angle = raw landmark angle - bias.",
        f"# Fitted by benchmarks/calibrate.py on {names} (split {args.split}).",
    ]
    for exercise in EXERCISES:
        ex_rows = [r for r in rows if r["exercise"] == exercise]
        if len(ex_rows) < 5:
            raise SystemExit(f"{exercise}: only {len(ex_rows)} matched reps: too few to calibrate")
        n_clips = len({r["clip"] for r in ex_rows})
        print(
            f"\n{exercise}: {len(ex_rows)} straight-spine reps from {n_clips} clips "
            f"({names}, split {args.split})"
        )
        err = np.array([r["err"] for r in ex_rows])
        print(
            f"raw bias: mean {err.mean():.2f}, sd {err.std():.2f}, "
            f"range {err.min():.1f}..{err.max():.1f} deg"
        )
        feats, score, med = choose(ex_rows, candidates)
        coef, means = fit(ex_rows, feats)
        resid = err - design(ex_rows, feats, means) @ coef
        named = dict(zip(("intercept",) + feats, coef))
        print(
            f"chosen: {','.join(feats) or 'constant'}  coefficients "
            + ", ".join(f"{k}={v:.3f}" for k, v in named.items())
            + f"  residual sd {resid.std():.2f}°"
        )
        lines += [
            "",
            f"# {exercise}: {len(ex_rows)} straight-spine reps, {n_clips} clips; "
            f"leave-one-clip-out RMS error {score:.2f} deg, median |error| {med:.2f} deg.",
            f"[bias.{exercise}]",
            f"intercept_deg = {named['intercept']:.4f}",
            f"yaw_coef = {named.get('yaw', 0.0):.4f}",
            f"thickness_coef = {named.get('thickness', 0.0):.4f}",
            "thickness_ref = 0.0",
            f"midline_coef = {named.get('midline', 0.0):.4f}",
            f"midline_fallback_deg = {means['midline']:.4f}",
            f"world_weight = {0.0 - named.get('world', 0.0):.4f}",
            f"gain_slope = {named.get('gain', 0.0):.4f}",
            f"gain_yaw_coef = {named.get('gain_yaw', 0.0):.5f}",
            f"residual_sd_deg = {resid.std():.4f}",
            f'fitted_on = "{names}:{args.split}"',
            f'source = "calibrated: {",".join(feats) or "constant"} on {names}/{args.split}"',
        ]
    if args.write:
        TOML.write_text("\n".join(lines) + "\n")
        print(f"wrote {TOML}")


if __name__ == "__main__":
    main()
