"""The root of vidstyle's user-facing errors.

A `VidstyleError` is a failure the user can fix (a missing folder, a corrupt index, a bad config): its message is
one line that says what is wrong and what to do, and the command line prints just that and exits with
`USER_ERROR_EXIT` (docs/cli.md). Any other exception is a bug and keeps its traceback.

Subclasses live beside the code that raises them (`DatasetError` in `vidstyle.embedder.dataset`, `IndexLoadError`
in `vidstyle.indexing.errors`, ...); several also derive from the built-in they refine (`ValueError`, `KeyError`)
so callers that catch those keep working.
"""

from __future__ import annotations

USER_ERROR_EXIT = 1
"""Exit status of every `vidstyle` command that stops on a user error (2 stays click's status for bad flags)."""


class VidstyleError(Exception):
    """A failure caused by the user's input or environment, with a message fit to show as is."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
