"""The live engine's frame grid: growable per-frame series, bit-packed masks and the raw frames
as pose tracks."""

from __future__ import annotations

import numpy as np

from formcheck.core.masks import MaskStack
from formcheck.core.track import N_LANDMARKS, PoseTrack

#: The live engine's per-grid-frame series (degrees, metres, 0/1 flags).
SERIES = ("shk", "shk_raw", "knee", "shin", "torso", "heel_h", "heel_far", "arch", "vis")


def pack_mask(mask: np.ndarray | tuple | None) -> tuple | None:
    """A bool mask bit-packed (8x smaller), as ``(bits, shape)``; packed or None pass through."""
    if mask is None or isinstance(mask, tuple):
        return mask
    return np.packbits(np.asarray(mask, bool).ravel()), tuple(mask.shape)


def unpack_mask(packed: tuple) -> np.ndarray:
    bits, shape = packed
    return np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape).astype(bool)


class Series:
    """Growable per-frame float arrays (one row per grid frame), read by name as ``(n,)``."""

    def __init__(self, names: tuple[str, ...], cap: int = 1024) -> None:
        self.n = 0
        self.data = {k: np.full(cap, np.nan) for k in names}

    def append(self, **vals: float) -> None:
        if self.n == len(next(iter(self.data.values()))):
            for k, v in self.data.items():
                self.data[k] = np.concatenate([v, np.full(len(v), np.nan)])
        for k, v in vals.items():
            self.data[k][self.n] = v
        self.n += 1

    def __getitem__(self, k: str) -> np.ndarray:
        return self.data[k][: self.n]


#: One grid frame as the live engine keeps it: (image (33, 3), world (33, 3), visibility (33,),
#: presence (33,), packed mask or None), or None where nobody was found.
RawFrame = tuple | None


def interp_raw(a: RawFrame, b: RawFrame, w: float) -> RawFrame:
    """Landmarks a share ``w`` of the way from frame ``a`` to ``b`` (None if either is
    missing); the nearer frame's mask."""
    if a is None or b is None:
        return None
    mask = pack_mask(a[4] if w < 0.5 else b[4])
    return tuple(
        (1 - w) * np.asarray(x) + w * np.asarray(y) for x, y in zip(a[:4], b[:4], strict=True)
    ) + (mask,)


def raw_track(
    raw: list[RawFrame],
    fps: float,
    width: int,
    height: int,
    mask_scale: float,
    meta: dict | None = None,
) -> PoseTrack:
    """Every grid frame as a :class:`PoseTrack` (NaN landmarks where nobody was found)."""
    n = len(raw)
    img = np.full((n, N_LANDMARKS, 3), np.nan, np.float32)
    world = np.full((n, N_LANDMARKS, 3), np.nan, np.float32)
    vis = np.zeros((n, N_LANDMARKS), np.float32)
    pres = np.zeros((n, N_LANDMARKS), np.float32)
    shape = next((r[4][1] for r in raw if r is not None and r[4] is not None), None)
    masks = MaskStack(shape) if shape is not None else None  # compressed, frame by frame
    for i, r in enumerate(raw):
        ok = r is not None and r[4] is not None and r[4][1] == shape
        if masks is not None:
            masks.append(unpack_mask(r[4]) if ok else None)  # type: ignore[index]
        if r is None:
            continue
        img[i], world[i], vis[i], pres[i] = r[0], r[1], r[2], r[3]
    return PoseTrack(
        image=img,
        world=world,
        visibility=vis,
        presence=pres,
        t_s=np.arange(n) / fps,
        width=width,
        height=height,
        fps=fps,
        masks=masks,
        mask_scale=mask_scale,
        meta=dict(meta or {}),
    )


def raw_subtrack(
    raw: list[RawFrame],
    idx: list[int],
    fps: float,
    width: int,
    height: int,
    mask_scale: float,
    with_masks: bool = True,
) -> PoseTrack:
    """Grid frames ``idx`` (all with a person) as a :class:`PoseTrack`; masks only when every
    one has a mask of the same shape."""
    rows = [raw[k] for k in idx]
    masks = None
    if with_masks and all(r[4] is not None for r in rows) and len({r[4][1] for r in rows}) == 1:
        masks = np.stack([unpack_mask(r[4]) for r in rows])
    return PoseTrack(
        image=np.stack([r[0] for r in rows]),
        world=np.stack([r[1] for r in rows]),
        visibility=np.stack([r[2] for r in rows]),
        presence=np.stack([r[3] for r in rows]),
        t_s=np.asarray(idx, float) / fps,
        width=width,
        height=height,
        fps=fps,
        masks=masks,
        mask_scale=mask_scale,
    )
