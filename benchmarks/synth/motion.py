"""Rep plans, tempo easing and the per-frame schedule of the target pose."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

FAULTS = ("sag", "hyperextension", "lumbar_arch", "short_hold", "fast_lowering", "heel_lift")

# Thresholds (the analyser's definitions) and clear-cut margins.
GOOD_PEAK = (176.0, 184.0)
SAG_MAX, SAG_CLEAR = 170.0, 162.0
REP_MIN = 150.0  # a rise peaking below this is an attempt, not a rep
HYPER_MIN, HYPER_CLEAR = 190.0, 198.0
ARCH_MIN, ARCH_CLEAR, ARCH_OK = 15.0, 20.0, 8.0
HOLD_MIN, HOLD_CLEAR, HOLD_GOOD = 1.5, 0.5, 2.0
ECC_MIN, ECC_CLEAR, ECC_GOOD = 1.5, 0.5, 2.0
HEEL_MIN, HEEL_CLEAR, HEEL_OK = 0.03, 0.04, 0.01
TOP_BAND = 3.0  # top = within this many degrees of the rep's peak


def min_jerk(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (10 - 15 * x + 6 * x * x)


def cosine_ease(x):
    x = np.clip(x, 0.0, 1.0)
    return 0.5 * (1 - np.cos(np.pi * x))


def linear_ease(x):
    return np.clip(x, 0.0, 1.0)


def late_ease(x):
    """x**2: slow start, fast finish (a lowering that gives way at the end)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x


def early_ease(x):
    """1 - (1 - x)**2: fast start, slow finish."""
    x = np.clip(x, 0.0, 1.0)
    return 1 - (1 - x) * (1 - x)


# share of the travel done at time share x (0 -> 0, 1 -> 1, monotone)
EASINGS = {
    "min_jerk": min_jerk,
    "cosine": cosine_ease,
    "linear": linear_ease,
    "late": late_ease,
    "early": early_ease,
}
BOUNCE_S = 0.4  # a bounce below the bottom is over within this time (taken out of the rest)
TEMPO_DEFAULTS = dict(
    rise_easing="min_jerk",
    lower_easing="cosine",
    pause_s=0.0,
    pause_at=0.5,
    bounce_deg=0.0,
    fatigue=0.0,
)


def tempo_model(tempo: dict) -> dict:
    """The tempo model of a clip from its spec `tempo` table: easings of the rise and the
    lowering, a pause part-way down each lowering, a bounce below the bottom after it, and
    fatigue (rep i's rise and lowering take (1 + fatigue * i) times as long).  Unset keys give
    the original model (minimum-jerk rise, cosine lowering, no pause, bounce or fatigue)."""
    m = dict(TEMPO_DEFAULTS)
    for k in ("rise_easing", "lower_easing"):
        if k in tempo:
            m[k] = str(tempo[k])
            if m[k] not in EASINGS:
                raise ValueError(f"tempo.{k}: unknown easing {m[k]!r} (one of {sorted(EASINGS)})")
    for k in ("pause_s", "pause_at", "bounce_deg", "fatigue"):
        if k in tempo:
            m[k] = float(tempo[k])
    if m["pause_s"] < 0 or m["bounce_deg"] < 0 or m["fatigue"] < 0:
        raise ValueError("tempo: pause_s, bounce_deg and fatigue must be >= 0")
    if not 0.0 < m["pause_at"] < 1.0:
        raise ValueError("tempo.pause_at must be in (0, 1)")
    if "model" in tempo:  # a free name (e.g. make_large.py's named models), for the label
        m["name"] = str(tempo["model"])
    return m


@dataclass
class RepPlan:
    kind: str  # "rep" or "attempt"
    peak_deg: float
    rise_s: float
    hold_s: float
    lower_s: float
    rest_s: float
    lumbar_deg: float = 0.0
    heel_lift_m: float = 0.0
    intended: list = field(default_factory=list)


def plan_reps(spec: dict, rng: np.random.Generator) -> list[RepPlan]:
    """Expand spec['reps'] (list of tables) or spec['rep_count'] into RepPlans.

    Each rep table may give: fault (str) or faults (list), attempt (bool), peak_deg,
    rise_s, hold_s, lower_s, rest_s, lumbar_deg, heel_lift_m.  Unset values are drawn
    from clear-cut ranges (faulty reps) or around the clip tempo (good reps)."""
    tempo = spec.get("tempo", {})
    rise0 = float(tempo.get("rise_s", 1.0))
    hold0 = float(tempo.get("hold_s", 1.9))
    lower0 = float(tempo.get("lower_s", 2.5))
    rest0 = float(tempo.get("rest_s", 0.8))
    jit = float(tempo.get("jitter", 0.08))
    reps = spec.get("reps")
    if reps is None:
        reps = [{} for _ in range(int(spec.get("rep_count", 5)))]
    out = []
    for r in reps:
        faults = list(r.get("faults", []))
        if "fault" in r:
            faults.append(r["fault"])
        for f in faults:
            if f not in FAULTS:
                raise ValueError(f"unknown fault {f!r}")
        attempt = bool(r.get("attempt", False))
        j = lambda v: v * (1 + jit * rng.uniform(-1, 1))  # noqa: E731
        peak = rng.uniform(178.0, 182.0)
        up = lambda v: v * (1 + jit * rng.uniform(0, 1))  # noqa: E731  (never below the tempo)
        rise, hold, lower, rest = j(rise0), up(hold0), up(lower0), j(rest0)
        lumbar = rng.uniform(0.0, 3.0)
        heel = 0.0
        if attempt:
            peak = rng.uniform(125.0, 145.0)
            hold = rng.uniform(0.0, 0.4)
        if "sag" in faults:
            peak = rng.uniform(152.0, 160.0)
        if "hyperextension" in faults:
            peak = rng.uniform(199.0, 206.0)
            lumbar = rng.uniform(12.0, 20.0)
        if "lumbar_arch" in faults:
            lumbar = rng.uniform(21.0, 28.0)
            peak = rng.uniform(178.5, 181.5)
        if "short_hold" in faults:
            hold = rng.uniform(0.0, 0.05)
            rise = min(rise, 0.6)
            lower = max(2.3, min(lower, 2.5)) if "fast_lowering" not in faults else lower
        if "fast_lowering" in faults:
            lower = rng.uniform(0.3, 0.45)
        if "heel_lift" in faults:
            heel = rng.uniform(0.045, 0.07)
        # good-tempo guard: a rep whose hold is not intended short keeps >= 2 s
        out.append(
            RepPlan(
                kind="attempt" if attempt else "rep",
                peak_deg=float(r.get("peak_deg", peak)),
                rise_s=float(r.get("rise_s", rise)),
                hold_s=float(r.get("hold_s", hold)),
                lower_s=float(r.get("lower_s", lower)),
                rest_s=float(r.get("rest_s", rest)),
                lumbar_deg=float(r.get("lumbar_deg", lumbar)),
                heel_lift_m=float(r.get("heel_lift_m", heel)),
                intended=faults + (["partial"] if attempt else []),
            )
        )
    return out


@dataclass
class Schedule:
    t: np.ndarray  # (T,) seconds
    shk: np.ndarray  # target angle
    lumbar: np.ndarray
    heel: np.ndarray
    progress: np.ndarray  # 0 at the bottom, 1 at the rep's peak
    windows: list  # per rep: dict(t_start, t_top, t_top_end, t_end, plan)


def schedule(
    plans: list[RepPlan],
    fps: float,
    bottom_deg: float,
    lead_in_s: float,
    lead_out_s: float,
    rng: np.random.Generator,
    breathing_deg: float = 0.25,
    model: dict | None = None,
) -> Schedule:
    """Per-frame target pose.  ``model`` (from `tempo_model`; None = the original model) sets
    the easings, the pause part-way down each lowering (inside its window: `t_end` is when the
    angle first reaches the bottom), the bounce below the bottom after it and fatigue."""
    m = dict(TEMPO_DEFAULTS) if model is None else {**TEMPO_DEFAULTS, **model}
    ease_up, ease_down = EASINGS[m["rise_easing"]], EASINGS[m["lower_easing"]]
    pause_s, pause_at = float(m["pause_s"]), float(m["pause_at"])
    if m["fatigue"]:
        plans = [
            replace(
                p,
                rise_s=p.rise_s * (1 + m["fatigue"] * i),
                lower_s=p.lower_s * (1 + m["fatigue"] * i),
            )
            for i, p in enumerate(plans)
        ]
    t_cur = lead_in_s
    windows = []
    for p in plans:
        w = dict(t_start=t_cur, t_top=t_cur + p.rise_s)
        w["t_top_end"] = w["t_top"] + p.hold_s
        w["t_end"] = w["t_top_end"] + p.lower_s + pause_s
        if pause_s > 0:  # the lowering's time split in proportion to the travel either side
            w["t_pause"] = w["t_top_end"] + pause_at * p.lower_s
            w["t_pause_end"] = w["t_pause"] + pause_s
        w["plan"] = p
        windows.append(w)
        t_cur = w["t_end"] + p.rest_s
    total = t_cur - (plans[-1].rest_s if plans else 0.0) + lead_out_s
    n = int(round(total * fps))
    t = np.arange(n) / fps
    prog = np.zeros(n)
    dip = np.zeros(n)
    owner = -np.ones(n, int)
    for i, w in enumerate(windows):
        p = w["plan"]
        rise = (t >= w["t_start"]) & (t < w["t_top"])
        prog[rise] = ease_up((t[rise] - w["t_start"]) / p.rise_s)
        hold = (t >= w["t_top"]) & (t < w["t_top_end"])
        prog[hold] = 1.0
        low = (t >= w["t_top_end"]) & (t < w["t_end"])
        if pause_s > 0:
            # two eased legs (top -> pause point, pause point -> bottom), still in between
            d1, d2 = pause_at * p.lower_s, (1 - pause_at) * p.lower_s
            a = low & (t < w["t_pause"])
            prog[a] = 1.0 - pause_at * ease_down((t[a] - w["t_top_end"]) / d1)
            b = low & (t >= w["t_pause"]) & (t < w["t_pause_end"])
            prog[b] = 1.0 - pause_at
            c = low & (t >= w["t_pause_end"])
            prog[c] = 1.0 - pause_at - (1 - pause_at) * ease_down((t[c] - w["t_pause_end"]) / d2)
        else:
            prog[low] = 1.0 - ease_down((t[low] - w["t_top_end"]) / p.lower_s)
        owner[(t >= w["t_start"]) & (t < w["t_end"])] = i
        if m["bounce_deg"] > 0:
            # below the bottom and back within BOUNCE_S (or the rest / lead-out, if shorter)
            room = windows[i + 1]["t_start"] - w["t_end"] if i + 1 < len(windows) else lead_out_s
            dur = min(BOUNCE_S, room)
            w["t_bounce_end"] = w["t_end"] + dur
            bb = (t >= w["t_end"]) & (t < w["t_bounce_end"])
            if dur > 0:
                u = (t[bb] - w["t_end"]) / dur
                dip[bb] = m["bounce_deg"] * 0.5 * (1 - np.cos(2 * np.pi * u))
    shk = np.full(n, bottom_deg, float)
    lumbar = np.zeros(n)
    heel = np.zeros(n)
    base_lumbar = 0.0
    for i, w in enumerate(windows):
        m_i = owner == i
        p = w["plan"]
        shk[m_i] = bottom_deg + (p.peak_deg - bottom_deg) * prog[m_i]
        lumbar[m_i] = base_lumbar + p.lumbar_deg * prog[m_i] ** 2
        hp = np.clip((prog[m_i] - 0.6) / 0.4, 0, 1)
        heel[m_i] = p.heel_lift_m * min_jerk(hp)
    if m["bounce_deg"] > 0:
        shk -= dip
    # slow breathing sway at the bottom only (keeps the top plateau exact)
    phase = rng.uniform(0, 2 * np.pi)
    shk += breathing_deg * np.sin(2 * np.pi * t / 4.0 + phase) * (1 - prog)
    return Schedule(t=t, shk=shk, lumbar=lumbar, heel=heel, progress=prog, windows=windows)


def label_rep(i, w, fps, shk, lumbar, heel, knee, unsigned_l, unsigned_r):
    """Phase frames and measured metrics of one planned rise, from the per-frame truth."""
    n = len(shk)
    f_start = min(n - 1, int(np.floor(w["t_start"] * fps)))
    f_end = min(n - 1, int(np.ceil(w["t_end"] * fps)))
    seg = shk[f_start : f_end + 1]
    peak = float(seg.max())
    top = np.where(seg >= peak - TOP_BAND)[0]
    top_start, top_end = f_start + int(top[0]), f_start + int(top[-1])
    f_peak = f_start + int(np.argmax(seg))
    hold_s = (top_end - top_start) / fps
    ecc_s = (f_end - top_end) / fps
    con_s = (top_start - f_start) / fps
    lum = float(lumbar[top_start : top_end + 1].max())
    hl = float(heel[f_start : f_end + 1].max())
    p = w["plan"]
    kind = "rep" if peak >= REP_MIN else "attempt"
    faults, clear = [], True
    if kind == "rep":
        if peak < SAG_MAX:
            faults.append("sag")
        if peak > HYPER_MIN:
            faults.append("hyperextension")
        if lum >= ARCH_MIN and SAG_MAX <= peak <= HYPER_MIN:
            faults.append("lumbar_arch")
        if hold_s < HOLD_MIN:
            faults.append("short_hold")
        if ecc_s < ECC_MIN:
            faults.append("fast_lowering")
        if hl >= HEEL_MIN:
            faults.append("heel_lift")
        clear &= (
            (REP_MIN + 2 <= peak <= SAG_CLEAR)
            or (GOOD_PEAK[0] <= peak <= GOOD_PEAK[1])
            or peak >= HYPER_CLEAR
        )
        if peak < HYPER_MIN:
            clear &= lum <= ARCH_OK or lum >= ARCH_CLEAR
        clear &= hold_s <= HOLD_CLEAR or hold_s >= HOLD_GOOD
        clear &= ecc_s <= ECC_CLEAR or ecc_s >= ECC_GOOD
        clear &= hl <= HEEL_OK or hl >= HEEL_CLEAR
    else:
        clear = peak <= REP_MIN - 5
    return kind, {
        "index": i,
        "start_frame": f_start,
        "top_start_frame": top_start,
        "top_end_frame": top_end,
        "end_frame": f_end,
        "peak_frame": f_peak,
        "peak_angle_deg": round(peak, 3),
        "peak_angle_3d_unsigned_left_deg": round(float(unsigned_l[f_peak]), 3),
        "peak_angle_3d_unsigned_right_deg": round(float(unsigned_r[f_peak]), 3),
        "knee_angle_top_deg": round(float(knee[f_peak]), 2),
        "lumbar_extension_deg": round(lum, 3),
        "heel_lift_m": round(hl, 4),
        "hold_s": round(hold_s, 4),
        "eccentric_s": round(ecc_s, 4),
        "concentric_s": round(con_s, 4),
        "faults": faults,
        "clear_cut": bool(clear),
        "intended": list(p.intended),
        "commanded": {
            "peak_deg": round(p.peak_deg, 3),
            "rise_s": round(p.rise_s, 3),
            "hold_s": round(p.hold_s, 3),
            "lower_s": round(p.lower_s, 3),
            "rest_s": round(p.rest_s, 3),
            "lumbar_deg": round(p.lumbar_deg, 3),
            "heel_lift_m": round(p.heel_lift_m, 4),
        },
        "start_s": round(f_start / fps, 4),
        "end_s": round(f_end / fps, 4),
    }
