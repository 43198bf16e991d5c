"""Progress bars for a person at a terminal (rich); nothing at all otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from syncer.run import NoProgress
from syncer.run import Progress as ProgressProtocol

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class _RichProgress:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def phase(self, source: str, what: str, total: int) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(f"{source}: {what}", total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)


@contextmanager
def progress_for(stream: TextIO, *, enabled: bool = True) -> Iterator[ProgressProtocol]:
    """A rich progress display on ``stream`` if it is a terminal, else a silent one."""
    if not (enabled and stream.isatty()):
        yield NoProgress()
        return
    from rich.console import Console  # here: rich and pygments cost ~35 ms, for a terminal
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(file=stream), transient=True) as progress:
        yield _RichProgress(progress)
