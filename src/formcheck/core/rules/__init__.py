"""Exercise profiles and the rule registry: :mod:`.profile` (typed, validated settings),
:mod:`.base` (what a rule is), one module per family of rules (:mod:`.angle`, :mod:`.lumbar`,
:mod:`.timing`, :mod:`.feet`) and :mod:`.registry` (every rule, in report order)."""

from formcheck.core.rules.base import LiveMoment, Rule, angle_finding_confidence, arch_limits
from formcheck.core.rules.finding import Finding
from formcheck.core.rules.profile import (
    ARCH_BASELINES,
    EXERCISE_CHOICES,
    EXERCISES,
    LUMBAR_MEASURE_NAMES,
    Profile,
    load_profile,
    resolve_exercise,
)
from formcheck.core.rules.registry import (
    LIVE_RULES,
    RULE_IDS,
    RULES,
    cue_phrase,
    cue_words,
    evaluate_rep,
    evaluate_set,
    rule,
    title,
)

__all__ = [
    "ARCH_BASELINES",
    "EXERCISES",
    "EXERCISE_CHOICES",
    "LIVE_RULES",
    "LUMBAR_MEASURE_NAMES",
    "RULES",
    "RULE_IDS",
    "Finding",
    "LiveMoment",
    "Profile",
    "Rule",
    "angle_finding_confidence",
    "arch_limits",
    "cue_phrase",
    "cue_words",
    "evaluate_rep",
    "evaluate_set",
    "load_profile",
    "resolve_exercise",
    "rule",
    "title",
]
