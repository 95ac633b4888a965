"""Style and content FAISS indexes over the embeddings dataset: build, persist, update, query.

Modules: `factory` (which index type, and how to make it), `space` (one space's index), `index_set`
(`IndexSet`: both spaces in memory, id table, updates, concurrency), `persistence` (INDEX_DIR: manifest,
checksums, crash-safe save and verified load), `recommend` (the "similar but not the same" ranking), `gpu`
(search mirrors on GPUs), `rwlock`, `clustered_vectors` (test/benchmark data).
"""

from vidstyle.core.spaces import SPACES
from vidstyle.indexing.errors import IndexLoadError, UnknownVideoError
from vidstyle.indexing.index_set import IndexSet

__all__ = ["SPACES", "IndexLoadError", "IndexSet", "UnknownVideoError"]
