"""Progress bars for a person at a terminal (rich); nothing at all otherwise.

A phase's bar shows how far it is, its rate (documents a second, over the last 30 s)
and the time left at that rate, so a long first sync says when it will be done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


def clock_text(seconds: float) -> str:
    """``0:07``, ``12:30``, ``1:02:03``: a duration as a person reads one."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


@contextmanager
def progress_for(
    stream: TextIO, *, enabled: bool = True, get_time: Callable[[], float] | None = None
) -> Iterator[ProgressProtocol]:
    """A rich progress display on ``stream`` if it is a terminal, else a silent one.

    ``get_time`` (monotonic seconds) is the clock rates are measured by; tests pass theirs.
    """
    if not (enabled and stream.isatty()):
        yield NoProgress()
        return
    # Here: rich and pygments cost ~35 ms, for a terminal only.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(
                "" if speed is None else f"{speed:,.1f} docs/s", style="progress.data.speed"
            )

    class Left(ProgressColumn):
        def render(self, task: Task) -> Text:
            left = task.time_remaining
            if left is None or task.finished:
                return Text("")
            return Text(f"{clock_text(left)} left", style="progress.remaining")

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(), Left())
    with Progress(
        *columns, console=Console(file=stream), transient=True, get_time=get_time
    ) as progress:
        yield _RichProgress(progress)
