"""`PoseTrack`: one person's pose landmarks over time — the centre of formcheck.

Every downstream stage (signals, kinematics, reps, rules, outputs) is a pure function of these
arrays. A track is saved as a compressed ``.npz`` so that re-analysis never re-runs the model.

Coordinates
-----------
- ``image``: ``(T, 33, 3)`` float32. ``x, y`` in **pixels** of the upright (rotation-corrected)
  frame, origin top-left, ``y`` pointing down; ``z`` is MediaPipe's relative depth scaled by the
  frame width (pixels, smaller = nearer the camera). NaN where no person was found.
- ``world``: ``(T, 33, 3)`` float32, **metres**, origin between the hips, MediaPipe world axes.
- ``visibility``, ``presence``: ``(T, 33)`` float32 in [0, 1]; 0 where no person was found.
- ``t_s``: ``(T,)`` float64 seconds from the first frame, strictly increasing.
- ``masks``: optional ``(T, h, w)`` person silhouettes, downscaled by ``mask_scale``
  (mask pixel = image pixel * mask_scale), held compressed as a
  :class:`~formcheck.core.masks.MaskStack` (a bool array given is converted).
- ``circles``: optional ``(T, k, 3)`` float32 ``x, y, r`` image pixels: the clearest circles
  in the picture (:func:`formcheck.pose.circles.find_circles`), candidates for a weight
  plate's rim; NaN rows where fewer were found or the frame was not searched.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.core.masks import MaskStack
from formcheck.errors import InputError, require_file
from formcheck.fsutil import atomic_path

TRACK_FORMAT_VERSION = 1

LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
LM: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}
N_LANDMARKS = len(LANDMARK_NAMES)

#: Landmark indices of one body side, by joint name.
SIDE_JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")


def side_index(side: str, joint: str) -> int:
    """Index of ``joint`` (e.g. ``"hip"``) on ``side`` (``"left"`` or ``"right"``)."""
    return LM[f"{side}_{joint}"]


#: Skeleton edges drawn on overlays (one body side is drawn by filtering on names).
SKELETON_EDGES: tuple[tuple[str, str], ...] = (
    ("shoulder", "elbow"),
    ("elbow", "wrist"),
    ("shoulder", "hip"),
    ("hip", "knee"),
    ("knee", "ankle"),
    ("ankle", "heel"),
    ("heel", "foot_index"),
    ("ankle", "foot_index"),
)


@dataclass(frozen=True, eq=False)
class PoseTrack:
    """Pose landmarks of one person over ``T`` frames (see module docstring for units)."""

    image: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    t_s: np.ndarray
    width: int
    height: int
    fps: float
    masks: MaskStack | None = None  # a (T, h, w) bool array given is converted
    mask_scale: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)
    circles: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = self.t_s.shape[0]
        for name, shape in (
            ("image", (t, N_LANDMARKS, 3)),
            ("world", (t, N_LANDMARKS, 3)),
            ("visibility", (t, N_LANDMARKS)),
            ("presence", (t, N_LANDMARKS)),
        ):
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"PoseTrack.{name} has shape {getattr(self, name).shape}, expected {shape}"
                )
        if isinstance(self.masks, np.ndarray):
            object.__setattr__(self, "masks", MaskStack.from_array(self.masks))
        if self.masks is not None and self.masks.shape[0] != t:
            raise ValueError("PoseTrack.masks must have one mask per frame")
        if self.circles is not None and (self.circles.ndim != 3 or self.circles.shape[0] != t):
            raise ValueError("PoseTrack.circles must be (frames, k, 3)")
        if t > 1 and not np.all(np.diff(self.t_s) > 0):
            raise ValueError("PoseTrack.t_s must be strictly increasing")

    # --- basic properties -------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def detected(self) -> np.ndarray:
        """``(T,)`` bool: a person was found in the frame."""
        return np.isfinite(self.image[:, 0, 0])

    @property
    def duration_s(self) -> float:
        return float(self.n_frames / self.fps) if self.fps > 0 else float(self.t_s[-1])

    def without_frames(self, drop: np.ndarray) -> PoseTrack:
        """A copy with the frames in ``drop`` (``(T,)`` bool) as if no person were found there
        (their landmarks NaN, visibility and presence 0); times, masks and meta kept."""
        drop = np.asarray(drop, bool)
        image, world = self.image.copy(), self.world.copy()
        vis, pres = self.visibility.copy(), self.presence.copy()
        image[drop] = np.nan
        world[drop] = np.nan
        vis[drop] = 0.0
        pres[drop] = 0.0
        return replace(self, image=image, world=world, visibility=vis, presence=pres)

    # --- constructors -----------------------------------------------------------------------
    @classmethod
    def empty(cls, n_frames: int, fps: float, width: int, height: int, **kw: Any) -> PoseTrack:
        """A track of ``n_frames`` frames with no person detected (all NaN)."""
        nan3 = np.full((n_frames, N_LANDMARKS, 3), np.nan, np.float32)
        zeros = np.zeros((n_frames, N_LANDMARKS), np.float32)
        return cls(
            image=nan3,
            world=nan3.copy(),
            visibility=zeros,
            presence=zeros.copy(),
            t_s=np.arange(n_frames) / float(fps),
            width=width,
            height=height,
            fps=fps,
            **kw,
        )

    @classmethod
    def from_npz(cls, path: str | Path) -> PoseTrack:
        """Load a track saved by :meth:`save`. Raises :class:`InputError` on a bad file."""
        p = require_file(path, "track file", "a track .npz file")
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta_json"]))
                version = int(meta.get("track_format_version", 0))
                if version != TRACK_FORMAT_VERSION:
                    raise InputError(f"{p}: unsupported track format version {version}")
                masks = None
                if "masks_packed" in z.files:
                    t, h, w = (int(v) for v in z["masks_shape"])
                    masks = MaskStack.from_packed_stream(_npy_pieces(z, "masks_packed"), (t, h, w))
                return cls(
                    image=z["image"],
                    world=z["world"],
                    visibility=z["visibility"],
                    presence=z["presence"],
                    t_s=z["t_s"],
                    width=int(meta["width"]),
                    height=int(meta["height"]),
                    fps=float(meta["fps"]),
                    masks=masks,
                    mask_scale=float(meta.get("mask_scale", 1.0)),
                    meta=meta,
                    circles=z["circles"] if "circles" in z.files else None,
                )
        except InputError:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise InputError(f"{p} is not a valid formcheck track file ({exc})") from None

    def save(self, path: str | Path) -> Path:
        """Write the track as a compressed ``.npz`` (masks bit-packed). Returns the path."""
        p = Path(path)
        meta = dict(self.meta)
        meta.update(
            track_format_version=TRACK_FORMAT_VERSION,
            width=self.width,
            height=self.height,
            fps=self.fps,
            mask_scale=self.mask_scale,
        )
        arrays: dict[str, np.ndarray] = dict(
            image=self.image.astype(np.float32, copy=False),
            world=self.world.astype(np.float32, copy=False),
            visibility=self.visibility.astype(np.float32, copy=False),
            presence=self.presence.astype(np.float32, copy=False),
            t_s=self.t_s.astype(np.float64, copy=False),
            meta_json=np.array(json.dumps(meta)),
        )
        if self.circles is not None:
            arrays["circles"] = self.circles.astype(np.float32, copy=False)
        if self.masks is not None:
            arrays["masks_shape"] = np.array(self.masks.shape, np.int64)
        # what np.savez_compressed writes, with the masks' bits streamed a piece at a time
        with (
            atomic_path(p) as tmp,
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf,
        ):
            for name, arr in arrays.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, arr, allow_pickle=False)
            if self.masks is not None:
                t, h, w = self.masks.shape
                header = {"descr": "|u1", "fortran_order": False, "shape": (-(-t * h * w // 8),)}
                with zf.open("masks_packed.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array_header_1_0(f, header)
                    for piece in self.masks.packed_chunks():
                        f.write(piece.tobytes())
        return p

    def xy(self, name: str) -> np.ndarray:
        """``(T, 2)`` pixel positions of landmark ``name`` (e.g. ``"left_hip"``)."""
        return self.image[:, LM[name], :2]


def _npy_pieces(z: Any, name: str, size: int = 1 << 20):
    """The data of the 1-d uint8 array ``name`` in the open ``.npz`` ``z``, read in pieces of
    ``size`` bytes (never the whole array at once)."""
    with z.zip.open(f"{name}.npy") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        if dtype != np.uint8 or len(shape) != 1:
            raise ValueError(f"{name} is not a flat uint8 array")
        left = int(shape[0])
        while left > 0:
            b = f.read(min(size, left))
            if not b:
                raise ValueError(f"{name} is cut short")
            left -= len(b)
            yield np.frombuffer(b, np.uint8)
