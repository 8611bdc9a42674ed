"""Person masks kept small: one compressed, bit-packed silhouette per frame.

A 320x180 bool mask is 57.6 kB, so a 20-minute set at 15 fps would hold 1 GB of them. A
:class:`MaskStack` keeps each frame as its bits (``np.packbits``) compressed with zlib (a
silhouette is a few hundred bytes) and unpacks only the frames a measure asks for, a bounded
number at a time (:data:`CHUNK`). The silhouette measures read it through :func:`has_mask`
and :func:`gather`, which take a plain ``(T, h, w)`` bool array too.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

import numpy as np

#: Most frames unpacked at once (57.6 kB each at 320x180).
CHUNK = 128


class MaskStack:
    """``T`` person masks of ``h x w`` pixels, appended frame by frame (None = no mask: all
    False). ``shape`` is ``(T, h, w)``; indexing (an int, a slice, an index array) returns
    unpacked bool arrays."""

    def __init__(self, hw: tuple[int, int]) -> None:
        self.hw = (int(hw[0]), int(hw[1]))
        self._frames: list[bytes | None] = []
        self._nonempty = bytearray()

    # --- building ---------------------------------------------------------------------------
    def append(self, mask: np.ndarray | None) -> None:
        """Add one frame's ``(h, w)`` bool mask (None or an empty mask: nothing there)."""
        if mask is None or not mask.any():
            self._frames.append(None)
            self._nonempty.append(0)
            return
        if mask.shape != self.hw:
            raise ValueError(f"mask shape {mask.shape}, expected {self.hw}")
        self._frames.append(zlib.compress(np.packbits(mask.ravel()).tobytes(), 1))
        self._nonempty.append(1)

    def extend(self, other: MaskStack) -> None:
        """Add ``other``'s frames after these (no unpacking)."""
        if other.hw != self.hw:
            raise ValueError(f"mask shape {other.hw}, expected {self.hw}")
        self._frames.extend(other._frames)
        self._nonempty.extend(other._nonempty)

    @classmethod
    def from_array(cls, masks: np.ndarray) -> MaskStack:
        """A stack of the ``(T, h, w)`` bool array ``masks``."""
        masks = np.asarray(masks)
        if masks.ndim != 3:
            raise ValueError(f"masks must be (T, h, w), got shape {masks.shape}")
        out = cls(masks.shape[1:])
        for m in masks:
            out.append(m.astype(bool, copy=False))
        return out

    @classmethod
    def from_packed_stream(
        cls, chunks: Iterable[np.ndarray], shape: tuple[int, int, int]
    ) -> MaskStack:
        """A stack from the bits of a ``(T, h, w)`` array packed flat (``np.packbits`` of its
        ``ravel()``, the track file's ``masks_packed``), read as consecutive uint8 pieces of any
        size."""
        t, h, w = shape
        out = cls((h, w))
        group = 8  # frames whose bits end on a byte boundary
        per = group * h * w // 8
        buf = bytearray()
        for c in chunks:
            buf += np.ascontiguousarray(c, np.uint8).tobytes()
            while len(buf) >= per and len(out) + group <= t:
                bits = np.unpackbits(np.frombuffer(bytes(buf[:per]), np.uint8))
                del buf[:per]
                for m in bits.reshape(group, h, w):
                    out.append(m.view(bool))
        rest = t - len(out)
        if rest:
            need = -(-rest * h * w // 8)
            if len(buf) < need:
                raise ValueError("masks_packed is shorter than masks_shape says")
            bits = np.unpackbits(np.frombuffer(bytes(buf[:need]), np.uint8), count=rest * h * w)
            for m in bits.reshape(rest, h, w):
                out.append(m.view(bool))
        return out

    # --- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._frames)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self._frames), *self.hw)

    @property
    def nonempty(self) -> np.ndarray:
        """``(T,)`` bool: the frame's mask has a person pixel."""
        return np.frombuffer(bytes(self._nonempty), np.uint8).astype(bool)

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i``'s ``(h, w)`` bool mask."""
        b = self._frames[i]
        n = self.hw[0] * self.hw[1]
        if b is None:
            return np.zeros(self.hw, bool)
        bits = np.unpackbits(np.frombuffer(zlib.decompress(b), np.uint8), count=n)
        return bits.view(bool).reshape(self.hw)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self.frame(int(key) % len(self))
        idx = np.arange(len(self))[key]
        out = np.zeros((len(idx), *self.hw), bool)
        for k, i in enumerate(idx):
            if self._frames[i] is not None:
                out[k] = self.frame(int(i))
        return out

    def take(self, idx: np.ndarray) -> MaskStack:
        """A stack of the frames ``idx`` (no unpacking)."""
        out = MaskStack(self.hw)
        for i in np.asarray(idx, int):
            out._frames.append(self._frames[i])
            out._nonempty.append(self._nonempty[i])
        return out

    def to_array(self) -> np.ndarray:
        """All frames unpacked, ``(T, h, w)`` bool (only for short tracks)."""
        return self[:]

    def packed_chunks(self, group: int = CHUNK) -> Iterator[np.ndarray]:
        """The bits of :meth:`to_array` packed flat (the track file's ``masks_packed``), in
        pieces of ``group`` frames (a multiple of 8, so every piece ends on a byte)."""
        for s in range(0, len(self), group):
            yield np.packbits(self[s : s + group].ravel())

    def gather(self, frames: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``masks[frames, y, x]`` (the arrays broadcast together), unpacking at most
        :data:`CHUNK` frames at once."""
        frames, y, x = np.broadcast_arrays(np.asarray(frames, int), y, x)
        out = np.zeros(frames.shape, bool)
        uniq = np.unique(frames)
        for c in range(0, len(uniq), CHUNK):
            u = uniq[c : c + CHUNK]
            sel = (frames >= u[0]) & (frames <= u[-1])
            local = self[u]
            out[sel] = local[np.searchsorted(u, frames[sel]), y[sel], x[sel]]
        return out


Masks = np.ndarray | MaskStack


def has_mask(masks: Masks) -> np.ndarray:
    """``(T,)`` bool: the frame's mask has a person pixel."""
    if isinstance(masks, MaskStack):
        return masks.nonempty
    return np.asarray(np.asarray(masks).any(axis=(1, 2)))


def gather(masks: Masks, frames: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``masks[frames, y, x]`` for a bool array or a :class:`MaskStack`."""
    if isinstance(masks, MaskStack):
        return masks.gather(frames, y, x)
    return np.asarray(masks[frames, y, x])


def unpacked(masks: Masks, frames: np.ndarray) -> tuple[Masks, np.ndarray]:
    """The masks of ``frames`` and those frames' indices into them: a :class:`MaskStack`'s
    frames unpacked once, ``(len(frames), h, w)`` bool, with indices ``0..n-1`` (for work that
    reads the same frames many times; keep ``frames`` to about :data:`CHUNK`); a bool array
    as it is."""
    if isinstance(masks, MaskStack):
        return masks[np.asarray(frames, int)], np.arange(len(frames))
    return masks, frames


def row_chunks(n: int, size: int = CHUNK) -> Iterator[slice]:
    """Slices of ``range(n)`` of at most ``size``: work on that many frames at a time."""
    for s in range(0, n, size):
        yield slice(s, min(n, s + size))
