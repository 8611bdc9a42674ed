"""The phases of a rep, as coded per frame in results (``Analysis.frames["phase"]`` and the
``frames.csv`` ``phase`` column: the index into :data:`PHASES`).

``none``: no person found; ``bottom``: a person, outside any rep; ``rise``: rep start to the
top; ``top``: the hold at the top; ``lowering``: the top's end to the rep's end.
"""

PHASES: tuple[str, ...] = ("none", "bottom", "rise", "top", "lowering")
