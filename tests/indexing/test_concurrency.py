"""Searches running while other threads add, remove and compact: each result matches the state before or after
an update, never a state in between (a half-applied add or remove, a delta folded twice or not at all, or an id
table out of step)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vidstyle.core.settings import IndexSettings
from vidstyle.indexing import SPACES, IndexSet
from vidstyle.indexing.clustered_vectors import ClusteredGenerator

DIMS = {"style": 32, "content": 16}
N0, K = 1500, 10


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def scenario(seed: int = 0):
    """The initial catalogue, a list of updates, and the catalogue after each update."""
    gens = {s: ClusteredGenerator(d, n_clusters=25, seed=seed + i) for i, (s, d) in enumerate(DIMS.items())}
    draw = iter(range(1000, 10_000))

    def sample(n: int) -> dict[str, np.ndarray]:
        return {s: g.sample(n, seed=next(draw)) for s, g in gens.items()}

    initial = {f"v{i}": row for i, row in enumerate(zip(*sample(N0).values()))}
    ops: list[tuple[str, list[str], dict[str, np.ndarray] | None]] = []
    for batch in range(8):
        ops.append(("add", [f"new{batch}-{i}" for i in range(40)], sample(40)))
        if batch % 3 == 1:  # replace existing videos
            ops.append(("add", [f"v{batch * 10 + i}" for i in range(5)], sample(5)))
        if batch % 3 == 2:
            ops.append(("remove", [f"v{200 + batch * 20 + i}" for i in range(20)] + [f"new{batch - 1}-0"], None))
    states = [dict(initial)]
    for kind, names, vecs in ops:
        state = dict(states[-1])
        if kind == "add":
            assert vecs is not None
            state.update({name: row for name, row in zip(names, zip(*vecs.values()))})
        else:
            for name in names:
                del state[name]
        states.append(state)
    return initial, ops, states


def expected_tops(states, queries: dict[str, np.ndarray]) -> dict[str, list[set[frozenset[str]]]]:
    """Per space and query: the exact top-K id sets over every state."""
    out: dict[str, list[set[frozenset[str]]]] = {}
    for s, space in enumerate(SPACES):
        out[space] = [set() for _ in queries[space]]
        for state in states:
            names = list(state)
            matrix = unit(np.stack([state[n][s] for n in names]))
            scores = matrix @ unit(queries[space]).T
            for qi in range(len(queries[space])):
                top = np.argsort(-scores[:, qi])[:K]
                out[space][qi].add(frozenset(names[i] for i in top))
    return out


@pytest.mark.parametrize("compact", [False, True], ids=["delta", "with-compactions"])
@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf_flat"])
def test_searches_see_whole_states_only(kind: str, compact: bool, tmp_path: Path) -> None:
    initial, ops, states = scenario()
    names = list(initial)
    vectors = {space: np.stack([initial[n][s] for n in names]) for s, space in enumerate(SPACES)}
    index_set = IndexSet.from_vectors("fp", names, vectors, IndexSettings(index_type=kind, nprobe=64))

    # Queries aimed at the videos the updates add, replace and remove, so that answers change.
    queries = {
        space: np.stack(
            [ops[i][2][space][0] for i in range(0, len(ops)) if ops[i][0] == "add"]  # type: ignore[index]
            + [vectors[space][210], vectors[space][250], vectors[space][0]]
        )
        for space in SPACES
    }
    exact = expected_tops(states, queries) if kind == "flat" else None
    live_sets = [frozenset(state) for state in states]

    observed: list[tuple[str, int, list[tuple[str, float]]]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader(offset: int) -> None:
        i = offset
        try:
            while not done.is_set():
                space = SPACES[i % 2]
                qi = i % len(queries[space])
                observed.append((space, qi, index_set.search(queries[space][qi], space, K)))
                index_set.search_id("v1", space, K)  # present in every state
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def writer() -> None:
        try:
            for step, (kind_, video_ids, vecs) in enumerate(ops):
                if kind_ == "add":
                    index_set.add(video_ids, vecs)
                else:
                    index_set.remove(video_ids)
                if compact and step % 3 == 2:  # fold the delta and the deletes into the main index, and save
                    index_set.save(tmp_path / "index")
                time.sleep(0.003)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()

    threads = [threading.Thread(target=reader, args=(o,)) for o in range(3)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(observed) > len(ops)

    assert set(index_set.video_ids()) == set(states[-1])
    distinct = set()
    for space, qi, result in observed:
        got = frozenset(v for v, _ in result)
        scores = [s for _, s in result]
        assert scores == sorted(scores, reverse=True)
        assert any(got <= live for live in live_sets), f"{space} result mixes states: {sorted(got)}"
        if exact is not None:
            assert got in exact[space][qi], f"{space} query {qi}: result matches no whole state"
        distinct.add((space, qi, got))
    assert len(distinct) > len({(s, q) for s, q, _ in observed}), "answers changed while searching"


def test_recommend_reads_one_state_while_videos_come_and_go() -> None:
    """Candidates deleted between the style search and the content look-up must not make recommend fail."""
    from vidstyle.indexing.recommend import Blend, recommend

    rng = np.random.default_rng(3)
    names = [f"v{i}" for i in range(60)]
    vectors = {space: rng.standard_normal((len(names), d)).astype(np.float32) for space, d in DIMS.items()}
    index_set = IndexSet.from_vectors("fp", names, vectors, IndexSettings(index_type="flat"))
    churn = names[1:31]  # every one is a candidate of v0 (the pool holds the whole catalogue)
    errors: list[BaseException] = []
    answers: list[int] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                got = recommend(index_set, "v0", 10, Blend(0.7, 0.3, 1.0, len(names)))
                assert "v0" not in [r.video_id for r in got]
                answers.append(len(got))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def writer() -> None:
        deadline = time.monotonic() + 1.5
        try:
            rounds = 0
            while time.monotonic() < deadline and rounds < 5000:
                vid = churn[rounds % len(churn)]
                row = {space: vectors[space][names.index(vid)][None] for space in DIMS}
                index_set.remove([vid])
                time.sleep(0.0002)  # readers get in while the video is gone
                index_set.add([vid], row)
                time.sleep(0.0002)
                rounds += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[:3]
    assert len(answers) > 50 and set(answers) == {10}
