"""A round weight's rim, fitted on the person mask: the plate's (or dumbbell head's) centre.

MediaPipe's person mask takes in a barbell's near plate (and a dumbbell's head): seen from the
side its outline is a circle that stands out of the body's outline. :func:`fit_plate` finds that
circle in every frame: first its radius, once per set (the median of free three-point RANSAC
fits on every :data:`RADIUS_EVERY`-th frame), then, with the radius fixed, its centre per frame
(two-point RANSAC over the outline, or the last frame's centre followed, refined by
Gauss–Newton on the rim points). A frame is kept
when enough of the rim is seen (:data:`MIN_COVERAGE` of the circle's directions): a plate
lying flat on the lap or a weight merged into the body has no such circle, and the set then
has no fit. On rendered barbell sets the centre was 1–2 px (median) from the near plate's.

Units: image pixels; ``length_px`` is the set's shoulder–knee image length, the scale the
plausible radii are given in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.core.masks import Masks

#: Plausible radii, as fractions of the shoulder–knee image length (a 45 cm plate on a short
#: body reaches about 0.5; a 15 cm dumbbell head on a tall one about 0.08).
RADIUS_RANGE = (0.07, 0.7)
#: The radius is estimated on every this many frames.
RADIUS_EVERY = 5
#: Outline points within this many mask pixels of the circle are on the rim.
TOL_MASK_PX = 2.0
#: A frame's fit counts when its rim points cover this share of the circle's 24 directions.
MIN_COVERAGE = 0.3
#: A set's fit counts when this share of the frames asked about have a centre,
MIN_FOUND = 0.5
#: and their rims cover, median over the set, this share of the circle's directions (rendered
#: barbell plates 0.67–0.83; a plate lying on the lap, seen edge on, 0.54).
MIN_SET_COVERAGE = 0.6
#: RANSAC hypotheses per frame.
HYPOTHESES = 150
#: The plate is followed from frame to frame, and searched for afresh every this many frames
#: or when it is seen less well than in the frame before.
REACQUIRE = 10
#: At most this many outline points score the hypotheses.
MAX_POINTS = 300


@dataclass(frozen=True)
class PlateFit:
    """The round weight's rim: ``centre_px`` ``(T, 2)`` image px (NaN where not found),
    ``radius_px`` (one per set), ``coverage`` ``(T,)`` the share of the circle's directions
    its rim was seen in (0 where not found), ``found`` the share of the frames asked about
    with a centre."""

    centre_px: np.ndarray
    radius_px: float
    coverage: np.ndarray
    found: float

    @property
    def median_coverage(self) -> float:
        """The median share of the circle's directions its rim was seen in, over the frames
        with a centre."""
        seen = np.isfinite(self.centre_px).all(axis=1)
        return float(np.median(self.coverage[seen])) if seen.any() else 0.0


def outline(mask: np.ndarray, mask_scale: float) -> np.ndarray:
    """The edge pixels of a ``(h, w)`` bool mask (a person pixel with a 4-neighbour outside
    it), their centres in image px ``(n, 2)``. Holes' edges and other blobs are left in:
    the circle fits treat them as outliers."""
    m = np.asarray(mask, bool)
    inner = m.copy()
    inner[1:, :] &= m[:-1, :]
    inner[:-1, :] &= m[1:, :]
    inner[:, 1:] &= m[:, :-1]
    inner[:, :-1] &= m[:, 1:]
    inner[[0, -1], :] = False
    inner[:, [0, -1]] = False
    y, x = np.nonzero(m & ~inner)
    return (np.stack([x, y], axis=1) + 0.5) / mask_scale


def _circumcircles(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, ...]:
    """Centres ``(n, 2)`` and radii ``(n,)`` of the circles through ``a``, ``b``, ``c``."""
    d = 2 * (a[:, 0] * (b[:, 1] - c[:, 1]) + b[:, 0] * (c[:, 1] - a[:, 1]))
    d += 2 * c[:, 0] * (a[:, 1] - b[:, 1])
    sa, sb, sc = (np.sum(p * p, axis=1) for p in (a, b, c))
    with np.errstate(all="ignore"):
        ux = (sa * (b[:, 1] - c[:, 1]) + sb * (c[:, 1] - a[:, 1]) + sc * (a[:, 1] - b[:, 1])) / d
        uy = (sa * (c[:, 0] - b[:, 0]) + sb * (a[:, 0] - c[:, 0]) + sc * (b[:, 0] - a[:, 0])) / d
    cen = np.stack([ux, uy], axis=1)
    return cen, np.linalg.norm(a - cen, axis=1)


def _support(points: np.ndarray, centres: np.ndarray, radius, tol: float) -> np.ndarray:
    """How well each circle (``centres`` ``(m, 2)``, ``radius`` scalar or ``(m,)``) is
    supported by ``points``: the number of its 24 directions with a point within ``tol`` of
    it, then (as a tie-break) the number of such points. A plate's rim is seen all round;
    a long, gently curved stretch of body outline fits a big circle in few directions."""
    v = points[None, :, :] - centres[:, None, :]
    d = np.hypot(v[..., 0], v[..., 1])
    on = np.abs(d - np.asarray(radius, float).reshape(-1, 1)) < tol
    rows, cols = np.nonzero(on)
    w = v[rows, cols]
    bins = ((np.arctan2(w[:, 1], w[:, 0]) + np.pi) * (24 / (2 * np.pi))).astype(int) % 24
    hit = np.zeros((len(centres), 24), bool)
    hit[rows, bins] = True
    return hit.sum(axis=1) * 100_000 + on.sum(axis=1)


def free_circle(
    points: np.ndarray, radii: tuple[float, float], tol: float, rng: np.random.Generator
) -> tuple[np.ndarray, float] | None:
    """The circle with a radius in ``radii`` through most of ``points`` (three-point RANSAC):
    ``(centre, radius)`` or None."""
    if len(points) < 10:
        return None
    i = rng.integers(0, len(points), (HYPOTHESES, 3))
    cen, r = _circumcircles(points[i[:, 0]], points[i[:, 1]], points[i[:, 2]])
    ok = np.isfinite(r) & (r > radii[0]) & (r < radii[1])
    if not ok.any():
        return None
    cen, r = cen[ok], r[ok]
    few = points[:: max(1, len(points) // MAX_POINTS)]
    k = int(np.argmax(_support(few, cen, r, tol)))
    centre, radius = cen[k], float(r[k])
    for band in (tol, tol / 2, tol / 3):  # refit on the rim alone (Kåsa), radius free
        on = np.abs(np.linalg.norm(points - centre, axis=1) - radius) < band
        if on.sum() < 8:
            return None
        x, y = points[on, 0], points[on, 1]
        a = np.stack([2 * x, 2 * y, np.ones_like(x)], axis=1)
        (cx, cy, c), *_ = np.linalg.lstsq(a, x * x + y * y, rcond=None)
        centre, radius = np.array([cx, cy]), float(np.sqrt(max(c + cx * cx + cy * cy, 0.0)))
    return centre, radius


def fixed_circle(
    points: np.ndarray,
    radius: float,
    tol: float,
    rng: np.random.Generator,
    seeds: list[np.ndarray],
    hypotheses: int = HYPOTHESES,
) -> tuple[np.ndarray, float] | None:
    """The centre of the circle of ``radius`` through most of ``points``: two-point RANSAC
    with ``hypotheses`` draws (plus the ``seeds``, e.g. the last frame's centre; 0 draws:
    the seeds alone), refined by Gauss–Newton on the points near it. ``(centre, coverage)``
    or None."""
    if len(points) < 10:
        return None
    i, j = rng.integers(0, len(points), (2, hypotheses))
    a, b = points[i], points[j]
    chord = b - a
    length = np.linalg.norm(chord, axis=1)
    ok = (length > 0.3 * radius) & (length < 2 * radius)
    a, chord, length = a[ok], chord[ok], length[ok]
    mid = a + chord / 2
    h = np.sqrt(np.maximum(radius**2 - (length / 2) ** 2, 0.0))[:, None]
    normal = np.stack([-chord[:, 1], chord[:, 0]], axis=1) / np.maximum(length, 1e-9)[:, None]
    cands = np.concatenate([mid + h * normal, mid - h * normal, *(s[None] for s in seeds)])
    if len(cands) == 0:
        return None
    few = points[:: max(1, len(points) // MAX_POINTS)]
    c0 = cands[int(np.argmax(_support(few, cands, radius, tol)))]
    centre = c0.astype(float)
    for _ in range(8):  # Gauss–Newton on the rim points, radius fixed
        near = np.abs(np.linalg.norm(points - centre, axis=1) - radius) < tol / 2
        if near.sum() < 8:
            return None
        v = points[near] - centre
        d = np.maximum(np.linalg.norm(v, axis=1), 1e-9)
        step, *_ = np.linalg.lstsq(-v / d[:, None], radius - d, rcond=None)
        centre = centre + step
        if np.hypot(*step) < 0.01:
            break
    v = points - centre
    on = np.abs(np.linalg.norm(v, axis=1) - radius) < tol
    hist = np.histogram(np.arctan2(v[on, 1], v[on, 0]), bins=24, range=(-np.pi, np.pi))[0]
    return centre, float((hist > 0).mean())


def fit_plate(
    masks: Masks,
    mask_scale: float,
    seeds: np.ndarray,
    length_px: float,
    frames: np.ndarray,
    seed: int = 0,
) -> PlateFit | None:
    """The round weight's circle in each of ``frames`` (indices into ``masks``), searched
    near ``seeds`` ``(T, 2)`` (a rough centre per frame, e.g.
    :func:`formcheck.core.load.load_centres`; frames without one are skipped). None when no
    circle of a plausible radius is found on at least :data:`MIN_FOUND` of the frames.
    Deterministic for a given ``seed``."""
    n = len(seeds)
    frames = np.asarray([f for f in frames if np.isfinite(seeds[f]).all()], int)
    if frames.size < 5 or not np.isfinite(length_px):
        return None
    rng = np.random.default_rng(seed)
    tol = TOL_MASK_PX / mask_scale
    radii = (RADIUS_RANGE[0] * length_px, RADIUS_RANGE[1] * length_px)
    found_r = []
    for f in frames[::RADIUS_EVERY]:
        pts = _near(outline(masks[f], mask_scale), seeds[f], 2.2 * radii[1])
        got = free_circle(pts, radii, tol, rng)
        if got is not None:
            found_r.append(got[1])
    if len(found_r) < 3:
        return None
    radius = float(np.median(found_r))
    centre = np.full((n, 2), np.nan)
    coverage = np.zeros(n)
    last: tuple[np.ndarray, float] | None = None
    for k, f in enumerate(frames):
        pts = _near(outline(masks[f], mask_scale), seeds[f], 3 * radius)
        got = None
        if last is not None and k % REACQUIRE:  # follow the last frame's plate
            got = fixed_circle(pts, radius, tol, rng, [last[0]], hypotheses=0)
            got = got if got is not None and got[1] >= last[1] - 0.1 else None
        if got is None:
            starts = [seeds[f]] + ([last[0]] if last is not None else [])
            got = fixed_circle(pts, radius, tol, rng, starts)
        if got is None or got[1] < MIN_COVERAGE:
            last = None
            continue
        centre[f], coverage[f] = got
        last = got
    fit = PlateFit(centre, radius, coverage, float(np.isfinite(centre[frames]).all(axis=1).mean()))
    if fit.found < MIN_FOUND or fit.median_coverage < MIN_SET_COVERAGE:
        return None
    return fit


def _near(points: np.ndarray, centre: np.ndarray, reach: float) -> np.ndarray:
    """The ``points`` within ``reach`` of ``centre``."""
    return points[np.linalg.norm(points - centre, axis=1) < reach]
