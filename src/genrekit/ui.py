"""Terminal helpers for the CLI (the library itself never prints)."""

from __future__ import annotations

from contextlib import contextmanager


def console():
    from rich.console import Console

    return Console(stderr=True)


def _progress(con, *, rate: bool):
    """A rich Progress: description, bar, n/total, [files/s,] elapsed, ETA."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(TextColumn):
        def __init__(self):
            super().__init__("")

        def render(self, task):
            elapsed = task.finished_time if task.finished else task.elapsed
            if not elapsed or not task.completed:
                return Text("-- files/s")
            return Text(f"{task.completed / elapsed:.2f} files/s")

    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               *([Rate()] if rate else []), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn()]
    return Progress(*columns, console=con)


@contextmanager
def file_progress(total: int, description: str):
    """A rich progress bar with files/s and ETA; yields ``advance(path, status)``."""
    with _progress(console(), rate=True) as prog:
        task = prog.add_task(description, total=total)

        def advance(path=None, status=None):
            prog.advance(task)

        yield advance


class TrainProgress:
    """Training callbacks rendered with rich: a bar per data stage and per epoch."""

    def __init__(self, con=None):
        self.con = con or console()
        self.progress = _progress(self.con, rate=False)
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def _new(self, description, total):
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(description, total=total)

    def on_data(self, stage, total):
        self._new(f"features ({stage})", total)

    def on_file(self, path, status):
        self.progress.advance(self.task)

    def on_epoch_start(self, epoch, epochs, samples):
        self._new(f"epoch {epoch}/{epochs}", samples)

    def on_step(self, n):
        self.progress.advance(self.task, n)

    def on_epoch_end(self, row, improved):
        self.progress.console.print(
            f"epoch {row['epoch']:3d}  loss {row['train_loss']:.4f}  valid acc "
            f"{row['valid_accuracy']:.3f}  macro-F1 {row['valid_macro_f1']:.3f}  slice acc "
            f"{row['valid_slice_accuracy']:.3f}" + ("  [green]best[/]" if improved else ""))


def one_line_warnings() -> None:
    """Show each ``errors.DecodeWarning`` (a file analysed only in part) as one line,
    ``warning: FILE: message``, every time (not once per code line, Python's default);
    other warnings as Python shows them. Idempotent; worker processes call it too."""
    import sys
    import warnings

    from .errors import DecodeWarning

    warnings.simplefilter("always", DecodeWarning)
    if getattr(warnings.showwarning, "_genrekit", False):
        return
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DecodeWarning) and isinstance(message, DecodeWarning):
            print(f"warning: {one_line(message.path)}: {one_line(message.message)}",
                  file=sys.stderr if file is None else file)
        else:
            shown(message, category, filename, lineno, file, line)

    show._genrekit = True
    warnings.showwarning = show


def one_line(text) -> str:
    """``text`` with control characters escaped (a newline in a file name becomes ``\\n``):
    one line on a terminal, a table row that a name cannot forge."""
    import re

    return re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], str(text))
