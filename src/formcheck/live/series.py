"""Growable per-frame series and bit-packed masks for the live engine's frame grid."""

from __future__ import annotations

import numpy as np


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
        return self.data[k][:self.n]
