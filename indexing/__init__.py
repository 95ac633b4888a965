"""Style and content FAISS indexes over the embeddings dataset: build, persist, update, query.

Modules: `factory` (which index type, and how to make it), `space` (one space's index), `store`
(`IndexSet`: both spaces, id table, persistence, concurrency), `source` (reading EMB_DIR), `gpu` (search
mirrors on GPUs), `cli` (`vidstyle index build`, `vidstyle query`), `synthetic` (test/benchmark data).
"""

from vidstyle.indexing.errors import IndexLoadError, UnknownVideoError
from vidstyle.indexing.store import SPACES, IndexSet

__all__ = ["SPACES", "IndexLoadError", "IndexSet", "UnknownVideoError"]
