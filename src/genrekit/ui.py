"""Terminal helpers for the CLI (the library itself never prints)."""

from __future__ import annotations

from contextlib import contextmanager


def console():
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def file_progress(total: int, description: str):
    """A rich progress bar with files/s and ETA; yields ``advance(path, status)``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class Rate(TextColumn):
        def __init__(self):
            super().__init__("")

        def render(self, task):
            from rich.text import Text

            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f} files/s" if speed else "-- files/s")

    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               Rate(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console()) as prog:
        task = prog.add_task(description, total=total)

        def advance(path=None, status=None):
            prog.advance(task)

        yield advance
