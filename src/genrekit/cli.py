"""``genrekit`` command line: ``main(argv=None) -> int``, the one place errors become exit codes.

Exit status: 0 success, 1 some inputs failed (the rest were processed), 2 usage or
configuration error (including "no audio found", and a missing extra: the line names the
``pip install 'genrekit[EXTRA]'`` to run). Heavy libraries (torch, numba, librosa,
onnxruntime) are imported by the subcommands when they run, never while the parser is
built, so ``genrekit --help`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "features": "compute features of one file; write a labelled PNG and/or the arrays",
    "preprocess": "compute and cache features for a whole catalog in N processes",
    "train": "train a model on a catalog (folder per genre or CSV)",
    "finetune": "adapt a trained model (or the bundled one) to your own labels",
    "evaluate": "per-song accuracy, macro-F1, confusion matrix of a checkpoint",
    "predict": "predict the genre of audio files (bundled model by default)",
    "demo": "predict the bundled demo excerpts with the bundled model",
    "ensemble": "average several models (weights equal or fitted on validation)",
    "calibrate": "fit temperature scaling on validation songs (honest probabilities)",
    "export": "export a checkpoint to ONNX (runs with onnxruntime, no torch)",
    "serve": "serve a model over HTTP: JSON API and a web page",
    "tag": "write predicted genres into audio files' tags (journaled, undoable)",
    "suggest": "the next songs of your library to label, to teach it your genres",
    "audit": "labels most likely wrong, and near-duplicate songs, in a labelled catalog",
    "teach": "a local page to label your songs by key, the most useful ones first",
    "library": "statistics of a tagged collection",
    "info": "where genrekit keeps its state (prediction store, caches, teach) and how large",
}


class Parser(argparse.ArgumentParser):
    """A usage error is one line: ``genrekit CMD: error: MESSAGE (see genrekit CMD --help)``,
    exit 2 (argparse's own prints the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s own options are declared (all with None), so the
    top-level ``--help`` imports no subcommand and no library."""
    from . import __version__

    parser = Parser(prog="genrekit", description="Music genre classification.")
    parser.add_argument("--version", action="version", version=f"genrekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=name)
        if command is None or command == name:
            _module(name).add_arguments(p)
    return parser


def _command_of(argv: list[str]) -> str:
    """The subcommand named in ``argv`` (the first word that is not an option), or ''."""
    return next((a for a in argv if not a.startswith("-")), "")


def _module(name: str):
    return importlib.import_module(f"genrekit.commands.{name}")


def main(argv: list[str] | None = None) -> int:
    from .errors import ConfigError, GenrekitError, ParameterError
    from .extras import missing_extra, require

    argv = list(sys.argv[1:] if argv is None else argv)
    from .ui import one_line_warnings

    one_line_warnings()
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and usage errors (2)
        return int(exc.code or 0)
    args._argv = argv  # for re-launching (torchrun)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        module = _module(args._module)
        require(*getattr(module, "REQUIRES", ()))  # the extras the whole command needs
        return int(module.run(args) or 0)
    except ImportError as exc:  # an optional dependency a code path needed
        if (missing := missing_extra(exc)) is None:
            raise
        print(f"genrekit {args.command}: error: {missing}", file=sys.stderr)
        return 2
    except (ParameterError, ConfigError) as exc:
        if getattr(exc, "failures", None):  # the songs that could not be read, first
            from .commands.common import report_failures

            report_failures(exc.failures)
        print(f"genrekit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except GenrekitError as exc:
        print(f"genrekit {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"genrekit {args.command}: interrupted; finished work is kept, rerun to resume",
              file=sys.stderr)
        return 130


def console_main() -> int:
    """The ``genrekit`` program: :func:`main` with decoders' own stderr lines filtered."""
    from .decoder_noise import filter_decoder_noise

    filter_decoder_noise()
    return main()


if __name__ == "__main__":
    sys.exit(console_main())
