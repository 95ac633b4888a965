"""What the index crash tests check after a kill: the state the acknowledged writes of `index_writer` make, and
that a reopened index stores each video once, with the vectors its last write gave it."""

from __future__ import annotations

import numpy as np

from tests.support.catalogue_vectors import DIMS
from tests.support.index_writer import step_vectors
from vidstyle.core.vectors import unit
from vidstyle.indexing import SPACES, IndexSet


def apply_step(state: dict, op: str, video: str, step: int) -> dict:
    """`state` (video -> {space: unit vector}) after the writer's step `step` (`op` on `video`)."""
    if op == "add":
        state[video] = {s: unit(v[0]) for s, v in step_vectors(step, DIMS).items()}
    else:
        del state[video]
    return state


def same_vectors(index: IndexSet, state: dict) -> bool:
    return all(
        np.allclose(index.vector(video, space), unit(vecs[space]), atol=1e-5)
        for video, vecs in state.items()
        for space in SPACES
    )


def assert_each_stored_once(index: IndexSet, kind: str) -> None:
    """No stale copy of a replaced or deleted video is left in any index a search reads."""
    for space in SPACES:
        main, delta = index._spaces[space], index._delta[space]
        stored = np.concatenate([main.stored_ids(), delta.stored_ids()])
        live = [i for i in stored.tolist() if i not in main.hidden and i not in main.dead]
        assert len(live) == len(set(live)) == len(index)
        if kind == "flat":
            everyone = [v for v, _ in index.search(np.ones(DIMS[space]), space, len(index) + 5)]
            assert len(everyone) == len(set(everyone)) == len(index)
