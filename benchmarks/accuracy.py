"""Score `formcheck analyze` against labelled clips (``<name>.mp4`` + ``<name>.label.json``).

    python benchmarks/accuracy.py DIR [DIR ...] [--split test|calibration|sample|all]
                                  [--out PREFIX] [--cache DIR] [--jobs N] [--config FILE.toml]
                                  [--by-load] [--by-gym]

Prints a table and writes ``PREFIX.md`` and ``PREFIX.json`` (default
``benchmarks/results/accuracy-<dirname>[+<dirname>...]-<split>``). With several folders it
scores each and also pools all their clips into one summary (the "all held-out" figures of
``docs/accuracy.md`` are ``accuracy.py out/large out/arch out/sag --split test``):

- reps: exact-count rate, off-by-one rate, mean absolute count error (over clips); also the
  exact-count rate over clips whose every labelled rise peaks at least 8 deg from the 150 deg
  rep/attempt boundary (the "clear-cut" reading of the count criterion);
- faults: precision, recall and F1 per fault id, reps matched to labels by time overlap
  (all reps, and clear-cut reps only: faults at least 8 deg or 1 s beyond their threshold, as
  the generator labels them; a found rep that is a labelled attempt is clear-cut when the label
  calls the attempt so, i.e. it peaks at least 5 deg under the 150 deg boundary);
- angle: median absolute error of the peak shoulder–hip–knee angle (matched reps);
- timing: median absolute error of hold and lowering durations;
- ``lumbar_arch`` precision/recall by exercise and camera view (|yaw| < 10 deg "side", else
  "oblique"), over all reps;
- the load check (a weight on the hips found where the label has one, and only there) and,
  with ``--by-gym``, per busy-gym factor (benchmarks/synth/gym.py); with ``--by-load``, every
  table above again per labelled load (none, barbell, dumbbell,
  plate) and view.

Pose tracks are cached (``--cache``, keyed by the video's size and mtime), so re-scoring after
a threshold or calibration change does not re-run the model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

FAULT_IDS = ("sag", "hyperextension", "lumbar_arch", "short_hold", "fast_lowering", "heel_lift")
ROOT = Path(__file__).resolve().parent
REP_MIN_DEG = 150.0  # the analyser's default rep/attempt boundary (the generator labels the same)
CLEAR_MARGIN_DEG = 8.0  # "clear-cut": at least this far from a threshold


def load_labels(folder: Path, split: str) -> list[dict]:
    out = []
    for p in sorted(folder.glob("*.label.json")):
        lab = json.loads(p.read_text())
        if lab.get("exercise") not in ("hip_thrust", "glute_bridge"):
            continue  # e.g. the empty-scene clip: nothing to score
        if split != "all" and lab.get("split", "sample") != split:
            continue
        lab["_video"] = str(folder / lab["video"])
        out.append(lab)
    return out


def cached_track(video: str, cache: Path):
    from dataclasses import replace

    from formcheck.core.track import PoseTrack
    from formcheck.pose.circles import search_circles
    from formcheck.pose.estimator import CIRCLES_EVERY, extract_track
    from formcheck.pose.video import probe_video

    st = os.stat(video)
    key = f"{Path(video).stem}-{st.st_size}-{int(st.st_mtime)}.track.npz"
    p = cache / key
    track = PoseTrack.from_npz(p) if p.exists() else extract_track(video, "full")
    if p.exists() and track.circles is not None:
        return track
    # the circles analyze reads again for a set with a weight; here for every clip, so the
    # cache serves whatever the load check decides (they are used only under a weight); a
    # track cached before circles existed gets them too, or it would score as the old code
    circles = search_circles(video, probe_video(video), track.detected, CIRCLES_EVERY)
    track = replace(track, circles=circles)
    cache.mkdir(parents=True, exist_ok=True)
    track.save(p)
    return track


def _extract(args):
    video, cache = args
    os.environ.setdefault("GLOG_minloglevel", "2")
    from formcheck.pose.native_log import quiet_native_stderr

    with quiet_native_stderr():
        cached_track(video, Path(cache))
    return video


def iou(a0, a1, b0, b1) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def match(pred: list, truth: list, fps: float) -> list[tuple[int | None, int | None]]:
    """Greedy one-to-one matching of predicted and labelled movements by time IoU >= 0.3."""
    pairs = []
    for i, p in enumerate(pred):
        for j, t in enumerate(truth):
            v = iou(p["start_s"], p["end_s"], t["start_frame"] / fps, t["end_frame"] / fps)
            if v >= 0.3:
                pairs.append((v, i, j))
    pairs.sort(reverse=True)
    used_p, used_t, out = set(), set(), []
    for _, i, j in pairs:
        if i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
        out.append((i, j))
    out += [(i, None) for i in range(len(pred)) if i not in used_p]
    out += [(None, j) for j in range(len(truth)) if j not in used_t]
    return out


def centre_error(lab: dict, session) -> float | None:
    """Median distance (image px) from the weight's centre in the result to the labelled near
    plate's (or dumbbell head's) centre, over the frames with both; None without either."""
    truth = (lab.get("per_frame") or {}).get("load_near_center_2d")
    found = session.load_info.centre_px
    if not truth or not found:
        return None
    n = min(len(truth), len(found))
    t = np.array([c if c is not None else [np.nan, np.nan] for c in truth[:n]], float)
    f = np.array([c if c is not None else [np.nan, np.nan] for c in found[:n]], float)
    d = np.linalg.norm(t - f, axis=1)
    return float(np.nanmedian(d)) if np.isfinite(d).any() else None


def score_clip(lab: dict, session) -> dict:
    fps = float(lab["fps"])
    pred = [r.to_dict() for r in session.reps]
    truth = lab["reps"]
    pairs = match(pred, truth, fps)
    # a found rep that is a labelled attempt is as clear-cut as the label says that attempt is
    # (the generator: clear-cut if it peaks at least 5 deg under the 150 deg rep boundary)
    extra = [i for i, j in pairs if j is None]
    attempts = lab.get("attempts", [])
    as_attempt = {
        extra[a]: attempts[b]
        for a, b in match([pred[i] for i in extra], attempts, fps)
        if a is not None and b is not None
    }
    yaw = abs(float(lab.get("camera", {}).get("yaw_deg", 0.0)))
    rows = []
    for i, j in pairs:
        p = pred[i] if i is not None else None
        t = truth[j] if j is not None else None
        clear = (
            bool(t.get("clear_cut", True))
            if t
            else bool(as_attempt[i].get("clear_cut", True))
            if i in as_attempt
            else True
        )
        rows.append(
            {
                "pred_faults": sorted(p["faults"]) if p else [],
                "true_faults": sorted(t["faults"]) if t else [],
                "clear_cut": clear,
                "peak_err": (p["peak_angle_deg"] - t["peak_angle_deg"]) if p and t else None,
                "peak_raw_err": (p["peak_angle_raw_deg"] - t["peak_angle_deg"])
                if p and t
                else None,
                "hold_err": (p["hold_s"] - t["hold_s"]) if p and t else None,
                "lower_err": (p["lowering_s"] - t["eccentric_s"]) if p and t else None,
                "arch_sil": p["lumbar"]["silhouette_deg"] if p else None,
                "arch_set_base": p["lumbar"].get("silhouette_set_baseline_deg") if p else None,
                "arch_set_reps": p["lumbar"].get("silhouette_set_reps") if p else None,
                "true_lumbar": t.get("lumbar_extension_deg") if t else None,
                "heel_pred": p["heel_rise_m"] if p else None,
                "true_heel": t.get("heel_lift_m") if t else None,
                "true_peak": t["peak_angle_deg"] if t else None,
                "matched": bool(p and t),
            }
        )
    rises = [float(r["peak_angle_deg"]) for r in truth + lab.get("attempts", [])]
    clear_count = all(abs(a - REP_MIN_DEG) >= CLEAR_MARGIN_DEG for a in rises)
    return {
        "name": lab.get("name", Path(lab["_video"]).stem),
        "split": lab.get("split"),
        "clear_count": clear_count,
        "exercise": lab["exercise"],
        "side": lab.get("camera_side"),
        "yaw": yaw,
        "view": "side" if yaw < 10 else "oblique",
        "n_true": len(truth),
        "n_pred": len(pred),
        "n_attempts_true": len(lab.get("attempts", [])),
        "n_attempts_pred": len(session.attempts),
        "camera_view": session.camera.view,
        "bias_deg": session.calibration.bias_deg,
        "thickness": session.calibration.trunk_thickness,
        "yaw_est": session.camera.yaw_deg,
        "phenotype": lab.get("phenotype"),
        "load": (lab.get("load") or {}).get("kind", "none"),
        "gym": (lab.get("gym") or {}).get("factors", []),
        "load_found": session.load_info.kind,
        "load_centre_err_px": centre_error(lab, session),
        "setup_looks_like": session.exercise_check.looks_like,
        "setup_rise_thighs": session.exercise_check.shoulder_rise_thighs,
        "reps": rows,
    }


def prf(rows: list[dict], fault: str) -> dict:
    tp = sum(fault in r["pred_faults"] and fault in r["true_faults"] for r in rows)
    fp = sum(fault in r["pred_faults"] and fault not in r["true_faults"] for r in rows)
    fn = sum(fault not in r["pred_faults"] and fault in r["true_faults"] for r in rows)
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * p * r / (p + r) if tp and (p + r) else (float("nan") if tp + fp + fn == 0 else 0.0)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f1}


def summarise(clips: list[dict]) -> dict:
    err = np.array([c["n_pred"] - c["n_true"] for c in clips])
    rows = [r for c in clips for r in c["reps"]]
    clear = [r for r in rows if r["clear_cut"]]

    def med(k):
        vals = [r[k] for r in rows if r[k] is not None]
        return float(np.median(np.abs(vals))) if vals else float("nan")

    by_view = {}
    for ex in ("hip_thrust", "glute_bridge"):
        for view in ("side", "oblique"):
            vr = [r for c in clips if c["view"] == view and c["exercise"] == ex for r in c["reps"]]
            by_view[f"{ex} {view}"] = prf(vr, "lumbar_arch")
    clear_err = np.array([c["n_pred"] - c["n_true"] for c in clips if c.get("clear_count", True)])
    pe = np.abs([r["peak_err"] for r in rows if r["peak_err"] is not None])
    return {
        "clips": len(clips),
        "clips_clear_count": int(len(clear_err)),
        "count_exact_clear_cut": float(np.mean(clear_err == 0)) if len(clear_err) else float("nan"),
        "peak_angle_rms_deg": float(np.sqrt(np.mean(pe**2))) if len(pe) else float("nan"),
        "peak_angle_over_8_deg": int(np.sum(pe > 8.0)),
        "peak_angle_reps": int(len(pe)),
        "reps_true": int(sum(c["n_true"] for c in clips)),
        "count_exact": float(np.mean(err == 0)) if len(err) else float("nan"),
        "count_off_by_one": float(np.mean(np.abs(err) == 1)) if len(err) else float("nan"),
        "count_mae": float(np.mean(np.abs(err))) if len(err) else float("nan"),
        "faults_all": {f: prf(rows, f) for f in FAULT_IDS},
        "faults_clear_cut": {f: prf(clear, f) for f in FAULT_IDS},
        "peak_angle_medae_deg": med("peak_err"),
        "peak_angle_raw_medae_deg": med("peak_raw_err"),
        "hold_medae_s": med("hold_err"),
        "lowering_medae_s": med("lower_err"),
        "lumbar_arch_by_view": by_view,
        # the set-up check (shoulders on a bench or the floor) against the labelled exercise
        "setup_right": sum(c.get("setup_looks_like") == c["exercise"] for c in clips),
        "setup_undecided": sum(c.get("setup_looks_like") is None for c in clips),
        "setup_wrong": sum(c.get("setup_looks_like") not in (None, c["exercise"]) for c in clips),
        # the load check: a weight found exactly where the label has one
        "load_right": sum(
            (c.get("load_found", "none") != "none") == (c.get("load") != "none") for c in clips
        ),
        # the barbell named where the label has one, and only there
        "barbell_right": sum(
            (c.get("load_found") == "barbell") == (c.get("load") == "barbell") for c in clips
        ),
        "barbell_named": sum(c.get("load_found") == "barbell" for c in clips),
        "barbell_named_right": sum(
            c.get("load_found") == "barbell" and c.get("load") == "barbell" for c in clips
        ),
        "load_centre_medae_px": _median_or_none(
            [c["load_centre_err_px"] for c in clips if c.get("load_centre_err_px") is not None]
        ),
    }


def _median_or_none(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def fmt(x, nd=2) -> str:
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{nd}f}"


def markdown(summary: dict, title: str) -> str:
    s = summary
    lines = [
        f"### {title}",
        "",
        f"{s['clips']} clips, {s['reps_true']} labelled reps.",
        "",
        "| reps | value |",
        "|---|---|",
        f"| exact count | {fmt(100 * s['count_exact'], 1)} % |",
        f"| exact count, clips with every rise ≥ {CLEAR_MARGIN_DEG:.0f}° from the "
        f"{REP_MIN_DEG:.0f}° rep/attempt boundary ({s['clips_clear_count']} clips) | "
        f"{fmt(100 * s['count_exact_clear_cut'], 1)} % |",
        f"| off by one | {fmt(100 * s['count_off_by_one'], 0)} % |",
        f"| count MAE | {fmt(s['count_mae'])} |",
        f"| peak angle median abs error | {fmt(s['peak_angle_medae_deg'], 1)}° "
        f"(raw landmarks {fmt(s['peak_angle_raw_medae_deg'], 1)}°) |",
        f"| peak angle RMS error | {fmt(s['peak_angle_rms_deg'], 1)}° "
        f"({s['peak_angle_over_8_deg']} of {s['peak_angle_reps']} reps off by more than 8°) |",
        f"| hold median abs error | {fmt(s['hold_medae_s'])} s |",
        f"| lowering median abs error | {fmt(s['lowering_medae_s'])} s |",
        f"| exercise read from the set-up: right / undecided / wrong | "
        f"{s['setup_right']} / {s['setup_undecided']} / {s['setup_wrong']} |",
        f"| weight on the hips found where there is one and only there | "
        f"{s['load_right']} of {s['clips']} |",
        f"| barbell named where there is one and only there (named / right) | "
        f"{s['barbell_right']} of {s['clips']} ({s['barbell_named']} / "
        f"{s['barbell_named_right']}) |",
        f"| weight's centre (bar path), median per-clip error | "
        f"{fmt(s['load_centre_medae_px'], 1)} px |",
        "",
        "| fault | P (all) | R (all) | F1 (all) | P (clear-cut) | R (clear-cut) | "
        "F1 (clear-cut) | TP/FP/FN (clear-cut) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in FAULT_IDS:
        a, c = s["faults_all"][f], s["faults_clear_cut"][f]
        lines.append(
            f"| `{f}` | {fmt(a['precision'])} | {fmt(a['recall'])} | {fmt(a['f1'])} | "
            f"{fmt(c['precision'])} | {fmt(c['recall'])} | {fmt(c['f1'])} | "
            f"{c['tp']}/{c['fp']}/{c['fn']} |"
        )
    lines += [
        "",
        "| `lumbar_arch` by exercise and view | precision | recall | TP/FP/FN |",
        "|---|---|---|---|",
    ]
    for v, m in s["lumbar_arch_by_view"].items():
        lines.append(
            f"| {v} | {fmt(m['precision'])} | {fmt(m['recall'])} | {m['tp']}/{m['fp']}/{m['fn']} |"
        )
    return "\n".join(lines) + "\n"


def evaluate(
    folder: Path,
    split: str = "all",
    cache: Path | None = None,
    jobs: int = 1,
    config: str | None = None,
) -> tuple[dict, list[dict]]:
    from formcheck.analysis import analyze_track
    from formcheck.core.rules import load_profile

    labels = load_labels(folder, split)
    if not labels:
        raise SystemExit(f"no labelled clips (*.label.json, split {split}) in {folder}")
    cache = cache or (ROOT / "results" / "tracks" / folder.name)
    todo = [(lab["_video"], str(cache)) for lab in labels]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as ex:
            list(ex.map(_extract, todo))
    else:
        for t in todo:
            _extract(t)
    clips = []
    for lab in labels:
        track = cached_track(lab["_video"], cache)
        session = analyze_track(track, load_profile(lab["exercise"], config)).session
        clips.append(score_clip(lab, session))
    return summarise(clips), clips


def clip_table(clips: list[dict]) -> str:
    lines = [
        "",
        "| clip | split | view | true reps | found | attempts (true/found) | "
        "bias | faults missed | faults extra |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in clips:
        missed = sorted(
            {f for r in c["reps"] for f in r["true_faults"] if f not in r["pred_faults"]}
        )
        extra = sorted(
            {f for r in c["reps"] for f in r["pred_faults"] if f not in r["true_faults"]}
        )
        lines.append(
            f"| {c['name']} | {c['split']} | {c['view']} | {c['n_true']} | "
            f"{c['n_pred']} | {c['n_attempts_true']}/{c['n_attempts_pred']} | "
            f"{fmt(c['bias_deg'], 1)} | {', '.join(missed) or '–'} | "
            f"{', '.join(extra) or '–'} |"
        )
    return "\n".join(lines) + "\n"


def by_load(clips: list[dict]) -> str:
    """One summary per (labelled load, view) group with clips in it."""
    md = ""
    for load in ("none", "barbell", "dumbbell", "plate"):
        for view in ("side", "oblique"):
            group = [c for c in clips if c.get("load", "none") == load and c["view"] == view]
            if group:
                md += "\n" + markdown(summarise(group), f"load: {load}, view: {view}")
    return md


def by_gym(clips: list[dict]) -> str:
    """One summary per busy-gym factor (benchmarks/synth/gym.py) with clips in it: clips with
    that factor alone, and clips with every factor."""
    md = ""
    for factor in ("walker", "clutter", "dark", "compressed", "drift"):
        group = [c for c in clips if c.get("gym") == [factor]]
        if group:
            md += "\n" + markdown(summarise(group), f"gym: {factor}")
    every = [c for c in clips if len(c.get("gym", [])) > 1]
    if every:
        md += "\n" + markdown(summarise(every), "gym: all factors together")
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", type=Path, nargs="+", metavar="DIR")
    ap.add_argument("--split", default="all")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="track cache (one folder only; default results/tracks/<dirname>)",
    )
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--config", default=None)
    ap.add_argument(
        "--by-load",
        action="store_true",
        help="also a table per load (none, barbell, dumbbell, plate) and view",
    )
    ap.add_argument(
        "--by-gym",
        action="store_true",
        help="also a table per busy-gym factor (walker, clutter, dark, compressed, drift, all)",
    )
    args = ap.parse_args()
    if args.cache and len(args.folders) > 1:
        ap.error("--cache takes one folder; with several, each uses results/tracks/<dirname>")
    per_folder, all_clips, md = {}, [], ""
    for folder in args.folders:
        summary, clips = evaluate(folder, args.split, args.cache, args.jobs, args.config)
        for c in clips:
            c["folder"] = folder.name
        per_folder[folder.name] = summary
        all_clips += clips
        md += markdown(summary, f"{folder.name} (split: {args.split})") + clip_table(clips) + "\n"
    result = {"split": args.split, "summary": per_folder[args.folders[0].name], "clips": all_clips}
    if len(args.folders) > 1:
        pooled = summarise(all_clips)
        names = " + ".join(f.name for f in args.folders)
        md = markdown(pooled, f"pooled: {names} (split: {args.split})") + "\n" + md
        result.update(summary=pooled, per_folder=per_folder)
    if args.by_load:
        md += by_load(all_clips)
    if args.by_gym:
        md += by_gym(all_clips)
    print(md)
    stem = "+".join(f.name for f in args.folders)
    out = args.out or (ROOT / "results" / f"accuracy-{stem}-{args.split}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(md)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=float))
    print(f"wrote {out.with_suffix('.md')} and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
