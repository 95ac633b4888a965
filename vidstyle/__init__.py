"""vidstyle: separate style and content embeddings for video recommendation.

The project's folders install as subpackages of this one (`embedder/` is `vidstyle.embedder`, and so on),
so no top-level name of ours can collide with another distribution's `service` or `evaluation`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vidstyle")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
