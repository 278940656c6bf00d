"""Typed errors. The library raises these; only ``cli.main`` turns them into exit codes."""

from __future__ import annotations

import difflib


class DecodeWarning(UserWarning):
    """A file that decoded only in part, or past damage (``warnings.warn``: the library
    never prints; the CLI shows each as one ``warning: FILE: message`` line)."""

    def __init__(self, path, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.message = str(path), message

    def __reduce__(self):
        return type(self), (self.path, self.message)


class GenrekitError(Exception):
    """Base class of every error genrekit raises on purpose."""


class ParameterError(GenrekitError, ValueError):
    """A bad argument value; the message names the value and the allowed range."""


class UnreadableDataError(ParameterError):
    """Too few songs of a catalog could be read to do the work; ``failures`` lists every
    ``(file, reason)`` (the command reports them, one line each, before this error)."""

    def __init__(self, message: str, failures=()):
        super().__init__(message)
        self.failures = [tuple(f) for f in failures]

    def __reduce__(self):
        return (type(self), (str(self), self.failures))


class ConfigError(GenrekitError, ValueError):
    """A config file or ``--set`` override that cannot be used."""


class AudioLoadError(GenrekitError):
    """A file that cannot be decoded; the message names the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # pickles across worker processes with both fields
        return type(self), (self.path, self.reason)


class UnknownModelError(GenrekitError, KeyError):
    """A model name that is not in the registry."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = list(known)
        super().__init__(name)

    def __reduce__(self):
        return type(self), (self.name, self.known)

    def __str__(self) -> str:
        msg = f"unknown model {self.name!r}"
        close = difflib.get_close_matches(self.name, self.known, n=1)
        if close:
            msg += f"; did you mean {close[0]!r}?"
        return msg + f" (known: {', '.join(self.known)})"


class CheckpointError(GenrekitError):
    """A checkpoint that is missing, corrupt, foreign or of an unknown format version."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # pickles across worker processes with both fields
        return type(self), (self.path, self.reason)


class NotFittedError(GenrekitError):
    """A model used before it was trained or loaded."""


def suggest(name: str, known) -> str:
    """Return a ``; did you mean 'x'?`` hint for ``name`` among ``known`` (or '')."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class EngineError(GenrekitError):
    """A distributed engine could not run (no Ray cluster at the address, ...)."""


class MissingExtraError(ConfigError):
    """A feature whose optional dependencies are not installed; the message names the extra
    that installs them (``pip install 'genrekit[EXTRA]'``)."""

    def __init__(self, extra: str, module: str):
        self.extra, self.module = extra, module
        super().__init__(f"this needs the '{extra}' extra ({module} is not installed): "
                         f"pip install 'genrekit[{extra}]'")

    def __reduce__(self):
        return type(self), (self.extra, self.module)
