"""Exercise profiles and the rule registry (see :mod:`.registry` and :mod:`.profile`)."""

from formcheck.core.rules.finding import Finding
from formcheck.core.rules.profile import (ARCH_BASELINES, EXERCISE_CHOICES, EXERCISES,
                                          LUMBAR_MEASURE_NAMES, Profile, load_profile,
                                          resolve_exercise)
from formcheck.core.rules.registry import (LIVE_RULES, RULE_IDS, RULES, LiveMoment, Rule,
                                           angle_finding_confidence, arch_limits, evaluate_rep,
                                           evaluate_set, rule, title)

__all__ = ["ARCH_BASELINES", "EXERCISES", "EXERCISE_CHOICES", "LIVE_RULES", "LUMBAR_MEASURE_NAMES",
           "RULES", "RULE_IDS", "Finding", "LiveMoment", "Profile", "Rule",
           "angle_finding_confidence", "arch_limits", "evaluate_rep", "evaluate_set",
           "load_profile", "resolve_exercise", "rule", "title"]
