"""Medusa sparse candidate trees (``medusa/model/medusa_choices.py``, FasterDecoding/Medusa ``e2a5d20``).

Each entry is a path of top-k ranks, one per head: ``(0, 2)`` = head-1 rank 0, then head-2 rank 2.
The tree has ``len(paths) + 1`` tokens, the extra one being the root (the LM-head token).

Only the trees that docs/references.md#medusa-trees gives *verbatim* are shipped; the other published trees
(``vicuna_7b_stage1``, ``vicuna_13b_stage2``, …) are listed in :data:`PUBLISHED_TREE_COUNTS` with
their published node counts per depth so a user-supplied copy can be checked, but their paths are
not reproduced here (they were not available verbatim); pass them as a list of paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

#: ``TOPK = 10`` in ``medusa/model/utils.py`` (docs/references.md#medusa-trees): every rank is ≤ 9.
TOPK: Final = 10

#: docs/references.md#medusa-trees, verbatim (the fallback default tree; also Spec-Bench's choice).
MC_SIM_7B_63: Final[tuple[tuple[int, ...], ...]] = tuple(
    tuple(p)
    for p in [
        [0],
        [0, 0],
        [1],
        [0, 1],
        [2],
        [0, 0, 0],
        [1, 0],
        [0, 2],
        [3],
        [0, 3],
        [4],
        [0, 4],
        [2, 0],
        [0, 5],
        [0, 0, 1],
        [5],
        [0, 6],
        [6],
        [0, 7],
        [0, 1, 0],
        [1, 1],
        [7],
        [0, 8],
        [0, 0, 2],
        [3, 0],
        [0, 9],
        [8],
        [9],
        [1, 0, 0],
        [0, 2, 0],
        [1, 2],
        [0, 0, 3],
        [4, 0],
        [2, 1],
        [0, 0, 4],
        [0, 0, 5],
        [0, 0, 0, 0],
        [0, 1, 1],
        [0, 0, 6],
        [0, 3, 0],
        [5, 0],
        [1, 3],
        [0, 0, 7],
        [0, 0, 8],
        [0, 0, 9],
        [6, 0],
        [0, 4, 0],
        [1, 4],
        [7, 0],
        [0, 1, 2],
        [2, 0, 0],
        [3, 1],
        [2, 2],
        [8, 0],
        [0, 5, 0],
        [1, 5],
        [1, 0, 1],
        [0, 2, 1],
        [9, 0],
        [0, 6, 0],
        [0, 0, 0, 1],
        [1, 6],
        [0, 7, 0],
    ]
)

#: docs/references.md#medusa-trees, verbatim (used by Medusa for "vicuna" + "7b").
VICUNA_7B_STAGE2: Final[tuple[tuple[int, ...], ...]] = (
    (0,),
    (0, 0),
    (1,),
    (0, 1),
    (0, 0, 0),
    (1, 0),
    (2,),
    (0, 2),
    (0, 0, 1),
    (0, 3),
    (3,),
    (0, 1, 0),
    (2, 0),
    (4,),
    (0, 0, 2),
    (0, 4),
    (1, 1),
    (1, 0, 0),
    (0, 0, 0, 0),
    (5,),
    (0, 0, 3),
    (0, 5),
    (0, 2, 0),
    (3, 0),
    (0, 1, 1),
    (0, 6),
    (6,),
    (0, 7),
    (0, 0, 4),
    (4, 0),
    (1, 2),
    (0, 8),
    (7,),
    (0, 3, 0),
    (0, 0, 0, 1),
    (0, 0, 5),
    (2, 1),
    (0, 0, 6),
    (1, 0, 1),
    (0, 0, 1, 0),
    (2, 0, 0),
    (5, 0),
    (0, 9),
    (0, 1, 2),
    (8,),
    (0, 4, 0),
    (0, 2, 1),
    (1, 3),
    (0, 0, 7),
    (0, 0, 0, 2),
    (0, 0, 8),
    (1, 1, 0),
    (0, 1, 0, 0),
    (6, 0),
    (9,),
    (0, 1, 3),
    (0, 0, 0, 3),
    (1, 0, 2),
    (0, 5, 0),
    (3, 1),
    (0, 0, 2, 0),
    (7, 0),
    (1, 4),
)

TREES: Final[dict[str, tuple[tuple[int, ...], ...]]] = {
    "mc_sim_7b_63": MC_SIM_7B_63,
    "vicuna_7b_stage2": VICUNA_7B_STAGE2,
}

#: Published tallies (docs/references.md#medusa-trees table): nodes at depth 1..4 and leaf paths, for every tree.
PUBLISHED_TREE_COUNTS: Final[dict[str, tuple[tuple[int, int, int, int], int]]] = {
    "mc_sim_7b_63": ((10, 28, 23, 2), 42),
    "vicuna_7b_stage2": ((10, 23, 23, 7), 42),
    "vicuna_7b_stage1": ((10, 32, 20, 1), 44),
    "vicuna_7b_stage1_ablation": ((10, 21, 25, 7), 42),
    "vicuna_13b_stage2": ((10, 19, 25, 9), 42),
    "vicuna_13b_stage1": ((10, 29, 23, 1), 44),
    "vicuna_33b_stage2": ((10, 24, 24, 5), 43),
    "vicuna_33b_stage1": ((10, 34, 19, 0), 46),
    "zephyr_stage2": ((10, 27, 23, 3), 44),
}


@dataclass(frozen=True)
class MedusaTree:
    """A validated candidate tree (:func:`get_tree` sorts the paths as Medusa does: by length, then ranks)."""

    name: str
    paths: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        if not self.paths:
            raise ValueError(f"tree {self.name!r}: needs at least one path")
        seen = set(self.paths)
        if len(seen) != len(self.paths):
            raise ValueError(f"tree {self.name!r}: duplicate paths")
        for p in self.paths:
            if not p or any(not 0 <= r < TOPK for r in p):
                raise ValueError(f"tree {self.name!r}: path {list(p)} must be non-empty with ranks in 0..{TOPK - 1}")
            if len(p) > 1 and p[:-1] not in seen:
                raise ValueError(f"tree {self.name!r}: path {list(p)} has no parent {list(p[:-1])} in the tree")

    @property
    def nodes(self) -> int:
        """Candidate nodes without the root."""
        return len(self.paths)

    @property
    def tokens(self) -> int:
        """Tokens verified per step: nodes + the root."""
        return len(self.paths) + 1

    @property
    def depth(self) -> int:
        """Longest path (= heads used)."""
        return max(len(p) for p in self.paths)

    def level_counts(self) -> tuple[int, ...]:
        """Nodes at depth 1, 2, …, depth."""
        return tuple(sum(1 for p in self.paths if len(p) == k) for k in range(1, self.depth + 1))

    @property
    def leaves(self) -> int:
        """Root-to-leaf paths (rows of ``retrieve_indices``)."""
        prefixes = {p[:-1] for p in self.paths}
        return sum(1 for p in self.paths if p not in prefixes)

    def expected_accept_length(self, accuracies: Sequence[Sequence[float]]) -> float:
        """Σ over nodes of Π accuracies[k][rank_k] along the node's path (docs/references.md#medusa-acceptance)."""
        total = 0.0
        for p in self.paths:
            prob = 1.0
            for k, r in enumerate(p):
                prob *= accuracies[k][r] if k < len(accuracies) and r < len(accuracies[k]) else 0.0
            total += prob
        return total

    def accept_length(self, ranks: Sequence[int | None]) -> int:
        """Accepted candidates when head k's correct token has rank ``ranks[k]`` (None: not in top-k)."""
        path: tuple[int, ...] = ()
        members = set(self.paths)
        for r in ranks:
            if r is None or (*path, r) not in members:
                break
            path = (*path, r)
        return len(path)


def get_tree(tree: str | Sequence[Sequence[int]]) -> MedusaTree:
    """A named shipped tree or a user list of paths."""
    if isinstance(tree, str):
        if tree in TREES:
            return MedusaTree(tree, tuple(sorted(TREES[tree], key=lambda p: (len(p), p))))
        if tree in PUBLISHED_TREE_COUNTS:
            raise ValueError(
                f"tree {tree!r} is published but not shipped verbatim (docs/references.md gives only its counts); "
                f"pass its paths as a list, or use one of {tuple(TREES)}"
            )
        raise ValueError(f"tree(={tree!r}) must be one of {tuple(TREES)} or a list of paths")
    paths = tuple(tuple(int(r) for r in p) for p in tree)
    return MedusaTree("custom", tuple(sorted(paths, key=lambda p: (len(p), p))))
