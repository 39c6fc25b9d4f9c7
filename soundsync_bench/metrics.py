"""Ranking metrics against planted ground truth.

Definitions (also printed with every report):

- ``relevant(u)`` = the other members who share at least one *main* taste group with ``u``
  (a taste is main when it carries >= 1/3 of the member's tastes, so everyone has one).
- ``P@k`` = relevant members among the first k recommended / k. Fewer than k recommendations
  count as misses: a method that returns 3 names cannot score 1.
- ``R@k`` = relevant members among the first k / min(k, |relevant(u)|) — the "capped" recall
  of Liang et al. (2018), so 1.0 is reachable whatever the group size. With big groups it
  equals P@k; it differs where a member's groups have fewer than k other members.
- Both are averaged over members with at least one relevant other member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RankingScore:
    """Mean P@k and R@k over ``evaluated`` members."""

    precision: float
    recall: float
    evaluated: int


def relevant_members(groups: Mapping[int, set[int]]) -> dict[int, set[int]]:
    """user_id → the other members sharing at least one of its ground-truth groups."""
    members_of: dict[int, set[int]] = defaultdict(set)
    for user, user_groups in groups.items():
        for group in user_groups:
            members_of[group].add(user)
    return {
        user: set().union(*(members_of[g] for g in user_groups)) - {user}
        for user, user_groups in groups.items()
    }


def precision_recall_at_k(
    recommended: Mapping[int, Sequence[int]], relevant: Mapping[int, set[int]], k: int
) -> RankingScore:
    """Mean P@k and capped R@k (see the module docstring) of ``recommended`` lists."""
    if k < 1:
        raise ValueError("k must be at least 1")
    precision = recall = 0.0
    evaluated = 0
    for user, wanted in relevant.items():
        if not wanted:
            continue
        # dict.fromkeys drops repeats without reordering: a name counts once.
        top = list(dict.fromkeys(recommended.get(user, ())))[:k]
        hits = sum(other in wanted for other in top)
        precision += hits / k
        recall += hits / min(k, len(wanted))
        evaluated += 1
    if evaluated == 0:
        return RankingScore(precision=0.0, recall=0.0, evaluated=0)
    return RankingScore(precision / evaluated, recall / evaluated, evaluated)
