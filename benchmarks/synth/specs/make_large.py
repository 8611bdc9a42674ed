"""Write specs/large.toml: 44 varied clips from one seed (deterministic).

    python benchmarks/synth/specs/make_large.py [--seed 2024] [--count 44] [--out benchmarks/synth/specs/large.toml]

Half the clips are `calibration`, half `test` (balanced over exercise and camera side).
Fault magnitudes are drawn over wide ranges, so some reps are borderline: the label's
`faults` / `clear_cut` fields (computed from the rendered truth) are authoritative,
`intended` records what the spec asked for.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

RES = [(640, 360), (854, 480), (960, 540), (960, 540), (1280, 720)]
FPS = [24, 25, 30, 30, 50]
FPS_WIDE = [24, 30, 50, 60]
FAULTS = ["sag", "hyperextension", "lumbar_arch", "short_hold", "fast_lowering", "heel_lift"]


def fault_rep(rng, f):
    r = {"fault": f}
    u = rng.random()
    if f == "sag":
        r["peak_deg"] = round(
            float(rng.uniform(151, 162) if u < 0.75 else rng.uniform(162, 172)), 2
        )
    elif f == "hyperextension":
        r["peak_deg"] = round(
            float(rng.uniform(198, 210) if u < 0.75 else rng.uniform(186, 198)), 2
        )
        r["lumbar_deg"] = round(float(rng.uniform(8, 22)), 2)
    elif f == "lumbar_arch":
        r["lumbar_deg"] = round(float(rng.uniform(20, 30) if u < 0.75 else rng.uniform(10, 20)), 2)
    elif f == "short_hold":
        r["hold_s"] = round(float(rng.uniform(0.0, 0.05) if u < 0.75 else rng.uniform(0.3, 1.2)), 3)
        r["rise_s"] = round(float(rng.uniform(0.5, 0.8)), 3)
    elif f == "fast_lowering":
        r["lower_s"] = round(
            float(rng.uniform(0.3, 0.55) if u < 0.75 else rng.uniform(0.6, 1.9)), 3
        )
    elif f == "heel_lift":
        r["heel_lift_m"] = round(
            float(rng.uniform(0.045, 0.08) if u < 0.75 else rng.uniform(0.015, 0.045)), 4
        )
    return r


LOAD_STREAM = 0x10AD  # the load draws use their own stream: sets without loads are unchanged
IRON_NAMES = ["black", "black", "dark_grey", "grey"]
BUMPER_NAMES = ["red", "blue", "green", "yellow", "black"]


def draw_load(rng, kind):
    """Explicit load parameters for one clip (the generator draws the rest from the clip seed)."""
    if kind == "barbell":
        bumper = bool(rng.random() < 0.4)
        n = int(rng.choice([1, 1, 2, 2, 3]))
        if bumper:
            dia = [0.45] * n
        else:
            first = 0.45 if rng.random() < 0.6 else round(float(rng.uniform(0.30, 0.45)), 3)
            dia = [first]
            for _ in range(1, n):
                dia.append(
                    dia[-1] if rng.random() < 0.6 else round(float(rng.uniform(0.30, dia[-1])), 3)
                )
        col = (
            [BUMPER_NAMES[int(rng.integers(5))] for _ in range(n)]
            if bumper
            else IRON_NAMES[int(rng.integers(4))]
        )
        return {
            "kind": "barbell",
            "plates_per_side": n,
            "plate_diameter_m": dia,
            "bumper": bumper,
            "plate_rgb": col,
            "pad": bool(rng.random() < 0.5),
        }
    if kind == "dumbbell":
        return {
            "kind": "dumbbell",
            "dumbbell_head_diameter_m": round(float(rng.uniform(0.12, 0.24)), 3),
            "dumbbell_shape": "hex" if rng.random() < 0.6 else "round",
            "dumbbell_rgb": ["black", "grey", "chrome"][int(rng.integers(3))],
        }
    if kind == "plate":
        bumper = bool(rng.random() < 0.4)
        return {
            "kind": "plate",
            "plate_diameter_m": 0.45
            if (bumper or rng.random() < 0.5)
            else round(float(rng.uniform(0.30, 0.45)), 3),
            "bumper": bumper,
            "plate_rgb": BUMPER_NAMES[int(rng.integers(5))]
            if bumper
            else IRON_NAMES[int(rng.integers(4))],
        }
    raise ValueError(f"unknown load kind {kind!r}")


TEMPO_STREAM = 0x7E3F0  # tempo-model draws: their own stream, the rest of the set is unchanged
SHALLOW_STREAM = 0x5A11  # shallow-bridge draws: likewise
GYM_STREAM = 0x6E1  # busy-gym factor deals: likewise


def _easings(rise, lower):
    return {"rise_easing": rise, "lower_easing": lower}


# named tempo models -> the spec's `tempo` keys (motion.tempo_model); values drawn from rng
TEMPO_MODELS = {
    "standard": lambda rng: _easings("min_jerk", "cosine"),
    "min_jerk": lambda rng: _easings("min_jerk", "min_jerk"),
    "linear": lambda rng: _easings("linear", "linear"),
    "late_drop": lambda rng: _easings("min_jerk", "late"),
    "early": lambda rng: _easings("early", "early"),
    "pause": lambda rng: {
        **_easings("min_jerk", "cosine"),
        "pause_s": round(float(rng.uniform(0.6, 1.2)), 3),
        "pause_at": round(float(rng.uniform(0.4, 0.6)), 3),
    },
    "bounce": lambda rng: {
        **_easings("min_jerk", "cosine"),
        "bounce_deg": round(float(rng.uniform(4.0, 8.0)), 2),
    },
    "fatigue": lambda rng: {
        **_easings("min_jerk", "cosine"),
        "fatigue": round(float(rng.uniform(0.15, 0.3)), 3),
    },
}


def shallow_bridge(rng, n_rises, reps):
    """A bridge set up high (bottom 135-141 deg, buttocks off the floor) whose rises are
    shallow: reps just over the 150-deg rep line (150.5-156) and attempts at 142-147; at least
    one of each, and a rise in five keeps the clip's drawn rep."""
    bottom = round(float(rng.uniform(135.0, 141.0)), 2)
    kinds = ["rep", "attempt"][: min(2, n_rises)]
    for _ in range(n_rises - len(kinds)):
        u = rng.random()
        kinds.append("rep" if u < 0.45 else "attempt" if u < 0.8 else "keep")
    kinds = [kinds[k] for k in rng.permutation(len(kinds))]
    out = []
    for kind, r in zip(kinds, reps):
        if kind == "rep":
            out.append({"fault": "sag", "peak_deg": round(float(rng.uniform(150.5, 156.0)), 2)})
        elif kind == "attempt":
            lo = max(142.0, bottom + 4.0)
            out.append({"attempt": True, "peak_deg": round(float(rng.uniform(lo, 147.0)), 2)})
        else:
            out.append(r)
    return bottom, out


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(round(float(v), 4))
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def make(
    seed=2024,
    count=44,
    prefix="large",
    arch_share=0.0,
    res=None,
    sag_share=0.0,
    split=None,
    wide=False,
    yaw_range=None,
    load_share=0.0,
    load_kinds=("barbell", "dumbbell", "plate"),
    reps_range=(3, 5),
    tempo_models=None,
    shallow_bridges=0,
    gym=None,
):
    """``arch_share`` / ``sag_share``: share of reps that are a lumbar arch with the hips on
    the line / a clear-cut sag (the focused sets; the rest keep the usual mix). ``res``:
    restrict resolutions. ``split``: put every clip in this split. ``wide``: wider cameras
    (yaw to 25 deg, height 0.3-1.6 m, fill 0.35-0.8, up to 60 fps) and tempos (rise 0.5-2 s,
    hold 1.8-4.5 s, lowering 1.8-4 s, rest 0-1.5 s: touch-and-go to paused reps) than the
    calibration sets, to test generality. ``yaw_range``: (min, max) camera yaw in degrees
    (either sign), overriding the above. ``load_share``: share of clips holding a load (a
    barbell, dumbbell or plate on the hips), kinds dealt in turn from ``load_kinds`` (repeat a
    kind to weight it) over a shuffled order of the loaded clips. ``reps_range``: rises per clip.
    ``tempo_models``: names from TEMPO_MODELS, dealt in turn over a shuffled order of the clips
    (each clip one model). ``shallow_bridges``: this many bridge clips set up high with shallow
    rises (see `shallow_bridge`). ``gym``: busy-gym factor names (benchmarks/synth/gym.py, or
    ``all``), dealt in turn over a shuffled order of the clips, one a clip; a clip with a walker
    gets a wall 1.4-2.2 m away so the walker passes behind the bench. These draw on streams of
    their own: nothing else changes."""
    rng = np.random.default_rng(seed)
    loads = [None] * count
    if load_share > 0:
        lrng = np.random.default_rng([seed, LOAD_STREAM])
        n_loaded = int(round(load_share * count))
        which = lrng.permutation(count)[:n_loaded]
        kinds = [load_kinds[k % len(load_kinds)] for k in range(n_loaded)]
        lrng.shuffle(kinds)
        for i, kind in zip(sorted(which.tolist()), kinds):
            loads[i] = draw_load(lrng, kind)
    models = [None] * count
    if tempo_models:
        for name in tempo_models:
            if name not in TEMPO_MODELS:
                raise ValueError(f"unknown tempo model {name!r} (one of {sorted(TEMPO_MODELS)})")
        trng = np.random.default_rng([seed, TEMPO_STREAM])
        order = trng.permutation(count)
        for k, i in enumerate(order.tolist()):
            name = tempo_models[k % len(tempo_models)]
            models[i] = {"model": name, **TEMPO_MODELS[name](trng)}
    gyms = [None] * count
    if gym:
        grng = np.random.default_rng([seed, GYM_STREAM])
        for k, i in enumerate(grng.permutation(count).tolist()):
            gyms[i] = gym[k % len(gym)]
    shallow = set()
    if shallow_bridges:
        srng = np.random.default_rng([seed, SHALLOW_STREAM])
        bridges = [i for i in range(count) if (i // 2) % 2 == 1]
        if shallow_bridges > len(bridges):
            raise ValueError(f"only {len(bridges)} bridge clips for {shallow_bridges} shallow ones")
        shallow = set(srng.choice(bridges, shallow_bridges, replace=False).tolist())
    split_override = split
    res_choices = RES if res is None else [r for r in RES if r[0] <= res]
    clips = []
    fault_cycle = list(FAULTS)
    fi = 0
    for i in range(count):
        ex = "hip_thrust" if (i // 2) % 2 == 0 else "glute_bridge"
        side = "left" if i % 2 == 0 else "right"
        split = "calibration" if (i // 4) % 2 == 0 else "test"
        female = bool(rng.random() < 0.5)
        stature = rng.uniform(1.50, 1.80) if female else rng.uniform(1.60, 1.97)
        body = {
            "gender": round(float(rng.uniform(0.8, 1.0) if female else rng.uniform(0.0, 0.2)), 3),
            "age": round(float(rng.uniform(0.67, 0.95)), 3),
            "muscle": round(float(rng.uniform(0.05, 0.95)), 3),
            "weight": round(
                float(
                    rng.choice(
                        [rng.uniform(0.0, 0.3), rng.uniform(0.3, 0.7), rng.uniform(0.7, 1.0)]
                    )
                ),
                3,
            ),
            "proportions": round(float(rng.uniform(0.2, 0.8)), 3),
            "stature_m": round(float(stature), 3),
            "knee_top_deg": round(float(rng.uniform(82, 98)), 2),
        }
        w, h = res_choices[int(rng.integers(len(res_choices)))]
        fps_choices = FPS_WIDE if wide else FPS
        fps = int(fps_choices[int(rng.integers(len(fps_choices)))])
        yaw = float(rng.uniform(*(yaw_range or (0, 25 if wide else 20)))) * (
            1 if rng.random() < 0.5 else -1
        )
        hgt, fill = ((0.3, 1.6), (0.35, 0.8)) if wide else ((0.35, 1.4), (0.45, 0.75))
        camera = {
            "side": side,
            "height_m": round(float(rng.uniform(*hgt)), 3),
            "yaw_deg": round(yaw, 2),
            "hfov_deg": round(float(rng.uniform(45, 70)), 2),
            "fill": round(float(rng.uniform(*fill)), 3),
        }
        if wide:
            rise, hold, lower, rest = (0.5, 2.0), (1.8, 4.5), (1.8, 4.0), (0.0, 1.5)
        else:
            rise, hold, lower, rest = (0.7, 1.5), (1.8, 2.8), (2.2, 3.2), (0.3, 1.2)
        tempo = {
            "rise_s": round(float(rng.uniform(*rise)), 3),
            "hold_s": round(float(rng.uniform(*hold)), 3),
            "lower_s": round(float(rng.uniform(*lower)), 3),
            "rest_s": round(float(rng.uniform(*rest)), 3),
            "lead_in_s": round(float(rng.uniform(1.0, 2.0)), 3),
            "lead_out_s": round(float(rng.uniform(0.8, 1.5)), 3),
        }
        n = int(rng.integers(reps_range[0], reps_range[1] + 1))
        reps = []
        for _ in range(n):
            if arch_share and rng.random() < arch_share:
                reps.append(
                    {"fault": "lumbar_arch", "lumbar_deg": round(float(rng.uniform(18, 30)), 2)}
                )
                continue
            if sag_share and rng.random() < sag_share:
                reps.append({"fault": "sag", "peak_deg": round(float(rng.uniform(150, 162)), 2)})
                continue
            u = rng.random()
            if u < 0.45:
                f = fault_cycle[fi % len(fault_cycle)]
                fi += 1
                reps.append(fault_rep(rng, f))
            elif u < 0.53:
                reps.append({"attempt": True, "peak_deg": round(float(rng.uniform(120, 146)), 2)})
            else:
                reps.append({})
        if models[i]:
            tempo.update(models[i])
        if i in shallow:
            tempo["bottom_deg"], reps = shallow_bridge(srng, n, reps)
        clips.append(
            {
                "name": f"{prefix}_{i:03d}_{ex}_{side}",
                "exercise": ex,
                "seed": int(seed * 1000 + i),
                "split": split_override or split,
                "video": {"width": w, "height": h, "fps": fps, "crf": 23},
                "body": body,
                "camera": camera,
                "tempo": tempo,
                "reps": reps,
                **({"load": loads[i]} if loads[i] else {}),
            }
        )
        if gyms[i]:
            clips[-1]["gym"] = {"factors": gyms[i] if gyms[i] == "all" else [gyms[i]]}
            if gyms[i] in ("walker", "all"):
                wall = round(float(grng.uniform(1.4, 2.2)), 3)
                clips[-1]["scene"] = {"wall_distance_m": wall}
    return clips


def write(clips, path: Path, seed, args: str = ""):
    lines = [
        f"# Generated by benchmarks/synth/specs/make_large.py --seed {seed} --count {len(clips)}{args}; do not edit by hand.",
        "# Render: benchmarks/synth/make_large.sh [OUT_DIR] [JOBS]",
        "",
    ]
    for c in clips:
        lines.append("[[clip]]")
        for k in ("name", "exercise", "seed", "split"):
            lines.append(f"{k} = {toml_value(c[k])}")
        for k in ("video", "body", "camera", "tempo", "load", "gym", "scene"):
            if k in c:
                lines.append(f"{k} = {toml_value(c[k])}")
        lines.append("reps = [" + ", ".join(toml_value(r) for r in c["reps"]) + "]")
        lines.append("")
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--count", type=int, default=44)
    ap.add_argument("--out", default=str(Path(__file__).with_name("large.toml")))
    ap.add_argument("--prefix", default="large", help="clip name prefix")
    ap.add_argument(
        "--arch-share",
        type=float,
        default=0.0,
        help="share of reps that are a lumbar arch with the hips on the line",
    )
    ap.add_argument("--max-width", type=int, default=None, help="only resolutions up to this width")
    ap.add_argument(
        "--sag-share",
        type=float,
        default=0.0,
        help="share of reps that are a clear-cut sag (150-162 deg)",
    )
    ap.add_argument("--split", default=None, help="put every clip in this split")
    ap.add_argument(
        "--wide",
        action="store_true",
        help="wider cameras and tempos than the calibration sets (generality test)",
    )
    ap.add_argument(
        "--yaw-range",
        type=float,
        nargs=2,
        default=None,
        metavar=("MIN", "MAX"),
        help="camera yaw range in degrees (either sign)",
    )
    ap.add_argument(
        "--load-share",
        type=float,
        default=0.0,
        help="share of clips holding a load on the hips (0: none, as before)",
    )
    ap.add_argument(
        "--load-kinds",
        default="barbell,dumbbell,plate",
        help="comma-separated load kinds dealt in turn to the loaded clips (repeat to weight)",
    )
    ap.add_argument(
        "--reps", type=int, nargs=2, default=(3, 5), metavar=("MIN", "MAX"), help="rises per clip"
    )
    ap.add_argument(
        "--tempo-models",
        default=None,
        help="comma-separated named tempo models (" + ", ".join(TEMPO_MODELS) + "), one per clip,"
        " dealt in turn over a shuffled order of the clips",
    )
    ap.add_argument(
        "--shallow-bridges",
        type=int,
        default=0,
        metavar="N",
        help="N bridge clips set up high (bottom 135-141 deg) with shallow rises: reps at"
        " 150.5-156 deg and attempts at 142-147",
    )
    ap.add_argument(
        "--gym",
        default=None,
        help="comma-separated busy-gym factors (walker, clutter, dark, compressed, drift, all),"
        " one per clip, dealt in turn over a shuffled order of the clips",
    )
    a = ap.parse_args()
    extra = (
        "".join(
            f" {k} {v}"
            for k, v in (
                ("--prefix", a.prefix),
                ("--arch-share", a.arch_share),
                ("--max-width", a.max_width),
                ("--sag-share", a.sag_share),
                ("--split", a.split),
            )
            if v not in (None, "large", 0.0)
        )
        + (" --wide" if a.wide else "")
        + (f" --yaw-range {a.yaw_range[0]:g} {a.yaw_range[1]:g}" if a.yaw_range else "")
        + (f" --load-share {a.load_share:g} --load-kinds {a.load_kinds}" if a.load_share else "")
        + (f" --reps {a.reps[0]} {a.reps[1]}" if tuple(a.reps) != (3, 5) else "")
        + (f" --tempo-models {a.tempo_models}" if a.tempo_models else "")
        + (f" --gym {a.gym}" if a.gym else "")
        + (f" --shallow-bridges {a.shallow_bridges}" if a.shallow_bridges else "")
    )
    write(
        make(
            a.seed,
            a.count,
            a.prefix,
            a.arch_share,
            a.max_width,
            a.sag_share,
            a.split,
            a.wide,
            a.yaw_range,
            a.load_share,
            tuple(a.load_kinds.split(",")),
            tuple(a.reps),
            tuple(a.tempo_models.split(",")) if a.tempo_models else None,
            a.shallow_bridges,
            tuple(a.gym.split(",")) if a.gym else None,
        ),
        Path(a.out),
        a.seed,
        extra,
    )
    print(f"wrote {a.out}")
