"""Per-rep clips: each flagged rep as a short annotated MP4 and an animated WebP, and the best
rep's top beside the worst rep's.

For every rep with a finding (a "flagged" rep, as the report and the review app call it):

- ``<stem>.repNN.mp4``: the rep from :data:`PAD_S` before its first frame to :data:`PAD_S`
  after its last (not into the reps beside it), longer side at most :data:`CLIP_MAX_SIDE` px,
  with the annotated video's overlay drawn at that size (:func:`frame_states`,
  :func:`~formcheck.sinks.draw.draw_overlay`: the body part at fault highlighted, the cue
  banner; none before the rep starts), H.264 through
  :func:`~formcheck.sinks.encode.write_video`;
- ``<stem>.repNN.webp``: the same frames as a looping animated WebP, :data:`ANIM_WIDTH` px
  wide at :data:`ANIM_FPS` frames/s (Pillow).

``<stem>.best-worst.jpg``: the top of the best rep (no faults, peak angle closest to 180°)
beside the top of the worst (heaviest faults, :data:`~formcheck.sinks.scoring.RULE_WEIGHTS`),
each labelled; only when the set has both a rep without faults and one with.

The source is decoded once, in order, up to the last frame needed; only the frames of a clip
(or a still) are drawn. Clips that overlap (padding) share the frames decoded once.
The files are listed in the result's ``files`` as ``rep_clip_<n>``, ``rep_anim_<n>`` and
``best_worst`` (kind -> file name, like every other result file).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from formcheck.core.rules import cue_phrase
from formcheck.core.session import Rep
from formcheck.fsutil import atomic_path, atomic_write_bytes
from formcheck.sinks.draw import BANNER_BAD, BANNER_GOOD, WHITE, label
from formcheck.sinks.scoring import DEFAULT_WEIGHT, RULE_WEIGHTS

if TYPE_CHECKING:
    from formcheck.analysis import Analysis

PAD_S = 0.5  # s of video kept before a rep's first and after its last frame
CLIP_MAX_SIDE = 720  # px, the clip's longer side at most (never scaled up)
ANIM_WIDTH = 320  # px, the animated WebP's width
ANIM_FPS = 8.0  # frames/s of the animated WebP
ANIM_QUALITY = 60  # WebP quality (0-100)
STILL_MAX_SIDE = 640  # px, each half of the best-vs-worst image at most
STILL_GAP = 8  # px of dark gap between the halves
JPEG_QUALITY = 85

CLIP_KIND = "rep_clip_{n}"
ANIM_KIND = "rep_anim_{n}"
BEST_WORST_KIND = "best_worst"
_KIND_RE = re.compile(r"^rep_(clip|anim)_([0-9]{1,6})$")

__all__ = [
    "ClipSpan",
    "best_and_worst",
    "clip_names",
    "clip_spans",
    "flagged",
    "rep_clip_files",
    "top_frame",
    "write_rep_clips",
]


@dataclass(frozen=True)
class ClipSpan:
    """The frames of one rep's clip: ``first`` to ``last`` inclusive (frame indices)."""

    rep: int  # the rep's index (1-based)
    first: int
    last: int

    @property
    def frames(self) -> int:
        return self.last - self.first + 1


def flagged(rep: Rep) -> bool:
    """Whether ``rep`` gets a clip: it has a finding (fault or advisory)."""
    return bool(rep.findings)


def clip_spans(
    reps: Sequence[Rep], fps: float, n_frames: int, pad_s: float = PAD_S
) -> list[ClipSpan]:
    """The clip of each flagged rep: its frames widened by ``pad_s`` seconds at ``fps`` on both
    sides, but not into the rep before or after it, within ``0 .. n_frames - 1``; in frame
    order."""
    pad = round(pad_s * (fps if fps and fps > 0 else 30.0))
    order = sorted(reps, key=lambda r: r.start_frame)
    out = []
    for k, r in enumerate(order):
        if not flagged(r) or n_frames <= 0:
            continue
        first = max(0, int(r.start_frame) - pad)
        last = min(n_frames - 1, int(r.end_frame) + pad)
        if k > 0:
            first = max(first, int(order[k - 1].end_frame) + 1)
        if k + 1 < len(order):
            last = min(last, int(order[k + 1].start_frame) - 1)
        if last >= first:
            out.append(ClipSpan(int(r.index), first, last))
    return out


def _weight(rep: Rep) -> float:
    return sum(RULE_WEIGHTS.get(f, DEFAULT_WEIGHT) for f in dict.fromkeys(rep.faults))


def _off_straight(rep: Rep) -> float:
    """Degrees between the rep's peak angle and a straight line (180°); inf if unknown."""
    a = rep.peak_angle_deg
    return abs(float(a) - 180.0) if a is not None and math.isfinite(a) else math.inf


def best_and_worst(reps: Sequence[Rep]) -> tuple[Rep, Rep] | None:
    """``(best, worst)``: the rep without faults with the fewest advisories and its peak angle
    closest to 180°, and the rep whose faults weigh most (then most faults, then furthest
    from 180°); the earlier rep on a tie. None unless the set has both kinds."""
    clean = [r for r in reps if not r.faults]
    faulty = [r for r in reps if r.faults]
    if not clean or not faulty:
        return None
    best = min(clean, key=lambda r: (len(r.findings), _off_straight(r), r.index))
    worst = min(
        faulty, key=lambda r: (-_weight(r), -len(set(r.faults)), -_off_straight(r), r.index)
    )
    return best, worst


def top_frame(rep: Rep) -> int:
    """The frame that shows a rep: the peak of a sag/hyperextension finding, else mid-top."""
    for f in rep.findings:
        if f.rule in ("sag", "hyperextension") and f.frame is not None:
            return int(f.frame)
    return (rep.top_start_frame + rep.top_end_frame) // 2


def clip_names(stem: str, index: int) -> tuple[str, str]:
    """The file names of rep ``index``'s clip and animation: ``<stem>.rep03.mp4``/``.webp``."""
    return f"{stem}.rep{index:02d}.mp4", f"{stem}.rep{index:02d}.webp"


def rep_clip_files(files: Mapping[str, str] | None) -> dict[int, dict[str, str]]:
    """The clips a result lists, by rep index: ``{3: {"clip": name, "anim": name}}`` (either
    may be absent). Names are the result's own; check they exist before using them."""
    out: dict[int, dict[str, str]] = {}
    for kind, name in (files or {}).items():
        m = _KIND_RE.match(str(kind))
        if m and isinstance(name, str) and name:
            out.setdefault(int(m.group(2)), {})[m.group(1)] = name
    return out


def scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(w, h)`` with the longer side at most ``max_side`` px (never larger than the source),
    aspect kept; both even (H.264 ``yuv420p``)."""
    k = min(1.0, max_side / max(width, height, 1))
    return max(2, round(width * k / 2) * 2), max(2, round(height * k / 2) * 2)


# -- rendering -------------------------------------------------------------------------------
def _pictures(
    video_path, info, size: tuple[int, int], needed: Callable[[int], bool], first: int, last: int
) -> Iterator[tuple[int, np.ndarray]]:
    """``(i, frame scaled to size)`` for each needed frame in ``first .. last``, from one
    sequential decode; the overlay is drawn later, at that size."""
    from formcheck.pose.video import iter_frames

    for i, _t, frame in iter_frames(video_path, info, skip_before=first, stop=last + 1):
        if frame is not None and needed(i):
            # INTER_AREA only where linear would alias (4x slower at 854 -> 720 px)
            area = size[0] < 0.5 * frame.shape[1]
            interp = cv2.INTER_AREA if area else cv2.INTER_LINEAR
            yield i, cv2.resize(frame, size, interpolation=interp)


def _drawer(
    analysis: Analysis, size: tuple[int, int]
) -> Callable[[int, np.ndarray, Rep], np.ndarray]:
    """``draw(i, frame, rep)``: a copy of ``frame`` (``size`` px) with frame ``i``'s overlay
    for a clip of ``rep``; before the rep starts no banner or fault marks (they would be the
    previous rep's)."""
    from formcheck.sinks.annotate import frame_states
    from formcheck.sinks.draw import draw_overlay

    state = frame_states(analysis)
    # the landmarks are in the analysed picture's pixels
    k = np.array([size[0] / analysis.track.width, size[1] / analysis.track.height])

    def draw(i: int, frame: np.ndarray, rep: Rep) -> np.ndarray:
        st = state(i)
        st = replace(
            st,
            xy=None if st.xy is None else st.xy * k,
            load_path=None if st.load_path is None else st.load_path * k,
            plate_radius_px=st.plate_radius_px and st.plate_radius_px * float(k.mean()),
        )
        if i < rep.start_frame:
            st = replace(st, message=None, message_bad=False, faults=[])
        return draw_overlay(frame.copy(), st)

    return draw


class _Anim:
    """Frames of one clip, kept at :data:`ANIM_FPS` and :data:`ANIM_WIDTH` for the WebP."""

    def __init__(self, first: int, fps: float) -> None:
        self.first, self.fps, self.images, self.last_slot = first, fps or 30.0, [], -1

    def add(self, i: int, pic: np.ndarray) -> np.ndarray:
        """Keep frame ``i`` (``pic``, BGR) if it starts a new 1/ANIM_FPS s; returns ``pic``."""
        slot = math.floor((i - self.first) * ANIM_FPS / self.fps)
        if slot <= self.last_slot:
            return pic
        self.last_slot = slot
        h, w = pic.shape[:2]
        small = cv2.resize(pic, (ANIM_WIDTH, max(2, round(h * ANIM_WIDTH / w))), cv2.INTER_AREA)
        self.images.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        return pic

    def save(self, path: Path) -> None:
        from PIL import Image

        ims = [Image.fromarray(a) for a in self.images]
        with atomic_path(path) as tmp:
            ims[0].save(
                tmp,
                format="WEBP",
                save_all=True,
                append_images=ims[1:],
                duration=round(1000 / ANIM_FPS),
                loop=0,
                quality=ANIM_QUALITY,
                method=4,
            )


def best_worst_image(best_pic, worst_pic, best: Rep, worst: Rep) -> np.ndarray:
    """The two top frames side by side (same height, each at most :data:`STILL_MAX_SIDE`),
    labelled "best: rep N" (green) and "worst: rep M (cue)" (red)."""
    h = min(best_pic.shape[0], worst_pic.shape[0])
    halves = []
    for pic in (best_pic, worst_pic):
        w = round(pic.shape[1] * h / pic.shape[0])
        w2, h2 = scaled_size(w, h, STILL_MAX_SIDE)
        halves.append(cv2.resize(pic, (w2, h2), interpolation=cv2.INTER_AREA))
    h = min(p.shape[0] for p in halves)
    halves = [p[:h] for p in halves]
    words = cue_phrase(worst.faults)
    px = max(10.0, h / 16)
    m = max(4, round(h / 40))
    for pic, text, box in (
        (halves[0], f"best: rep {best.index}", BANNER_GOOD),
        (halves[1], f"worst: rep {worst.index} ({words})", BANNER_BAD),
    ):
        label(pic, text, (m, m), px, WHITE, box, max_w=pic.shape[1] - 4 * m)
    gap = np.full((h, STILL_GAP, 3), 32, np.uint8)
    return np.hstack([halves[0], gap, halves[1]])


class _Source:
    """The annotated frames in order, each decoded and drawn once: the frames two clips share
    (their padding overlaps) are kept for the next clip; the still frames are kept by index."""

    def __init__(self, it: Iterator[tuple[int, np.ndarray]], still_ids: set[int]) -> None:
        self.it, self.still_ids = it, still_ids
        self.buf: deque[tuple[int, np.ndarray]] = deque()
        self.stills: dict[int, np.ndarray] = {}

    def next(self) -> tuple[int, np.ndarray] | None:
        item = self.buf.popleft() if self.buf else next(self.it, None)
        if item is not None and item[0] in self.still_ids:
            self.stills[item[0]] = item[1]
        return item

    def clip(self, sp: ClipSpan, next_first: int | None) -> Iterator[tuple[int, np.ndarray]]:
        """The frames of ``sp`` (fewer if the video ends first); those from ``next_first`` on
        come again for the next clip."""
        carry: list[tuple[int, np.ndarray]] = []
        try:
            while (item := self.next()) is not None:
                if item[0] < sp.first:
                    continue
                if next_first is not None and item[0] >= next_first:
                    carry.append(item)
                yield item
                if item[0] >= sp.last:
                    break
        finally:
            self.buf = deque(sorted([*carry, *self.buf], key=lambda it: it[0]))

    def find_stills(self) -> None:
        """Read on until every still frame is kept (or the video ends)."""
        while not self.still_ids <= self.stills.keys() and self.next() is not None:
            pass


def write_rep_clips(
    analysis: Analysis, video_path: str | os.PathLike, out_dir: str | os.PathLike, stem: str
) -> dict[str, str]:
    """Write the clips, animations and best-vs-worst image of ``analysis`` (see the module
    docstring) into ``out_dir``; returns ``{kind: file name}``. Every file is written
    atomically; an encode that fails raises :class:`~formcheck.errors.OutputError`."""
    from formcheck.pose.video import probe_video, with_turn
    from formcheck.sinks.encode import write_video

    s = analysis.session
    out = Path(out_dir)
    info = with_turn(probe_video(video_path), int(analysis.track.meta.get("turn_deg", 0)))
    fps = float(analysis.track.fps or info.fps)
    n = len(analysis.frames["time_s"])
    spans = clip_spans(s.reps, fps, n)
    pair = best_and_worst(s.reps)
    tops = [min(n - 1, top_frame(r)) for r in pair] if pair else []
    if not spans and not tops:
        return {}
    in_clip = np.zeros(n, bool)
    for sp in spans:
        in_clip[sp.first : sp.last + 1] = True
    still_ids = set(tops)
    first = min([sp.first for sp in spans] + tops)
    last = max([sp.last for sp in spans] + tops)
    size = scaled_size(analysis.track.width, analysis.track.height, CLIP_MAX_SIDE)
    pics = _pictures(
        video_path, info, size, lambda i: bool(in_clip[i]) or i in still_ids, first, last
    )
    src = _Source(pics, still_ids)
    draw = _drawer(analysis, size)
    by_index = {r.index: r for r in s.reps}
    files: dict[str, str] = {}
    try:
        for k, sp in enumerate(spans):
            anim = _Anim(sp.first, fps)
            items = src.clip(sp, spans[k + 1].first if k + 1 < len(spans) else None)
            frames = (anim.add(i, draw(i, pic, by_index[sp.rep])) for i, pic in items)
            head = next(frames, None)
            if head is None:  # the video ends before this rep's frames
                continue
            mp4, webp = clip_names(stem, sp.rep)
            write_video(out / mp4, itertools.chain([head], frames), fps, size)
            anim.save(out / webp)
            files[CLIP_KIND.format(n=sp.rep)] = mp4
            files[ANIM_KIND.format(n=sp.rep)] = webp
        src.find_stills()
    finally:
        pics.close()
    if pair and still_ids <= src.stills.keys():
        pics = [draw(i, src.stills[i], r) for i, r in zip(tops, pair, strict=True)]
        img = best_worst_image(*pics, *pair)
        ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if ok:
            name = f"{stem}.best-worst.jpg"
            atomic_write_bytes(out / name, jpg.tobytes())
            files[BEST_WORST_KIND] = name
    return files
