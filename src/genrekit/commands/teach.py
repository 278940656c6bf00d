"""``genrekit teach LIBRARY... --labels labels.csv [--port 8001]``: a local page that plays
the songs worth labelling next and takes your genres by key; every label goes into
``labels.csv`` at once (the catalog CSV ``genrekit finetune default`` reads)."""

from __future__ import annotations

from .common import (
    add_embedding_args,
    add_guard_args,
    build_guard,
    check_outputs,
    in_range,
    report,
    report_failures,
)

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("serve",)


def add_arguments(p) -> None:
    p.add_argument("library", nargs="+", metavar="FILE|DIR", help="your music: files or folders")
    from ..paths import data_dir, default_labels

    p.add_argument("--labels", default=default_labels(),
                   help="your labels, a CSV of path,genre: read, and written at every label "
                        "(default: teach/labels.csv in the user data folder; created when missing)")
    p.add_argument("--out", default=str(data_dir() / "teach" / "teach-model.pt"),
                   help="where 'save model' writes the model (default: teach/teach-model.pt "
                        "in the user data folder)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=in_range(int, lo=0, hi=65535), default=8001,
                   help="TCP port, 0..65535 (default 8001)")
    add_guard_args(p, token_choice=False)
    add_embedding_args(p, model_help="the model whose embeddings are compared, and whose "
                                     "backbone a saved model keeps (default: the bundled one)")


def build_session(args):
    """``(session, classifier, errors)`` for a library and a labels file."""
    from ..teach.labels import LabelBook
    from ..teach.session import TeachSession
    from .suggest import load_library

    labels, _, clf, Z, good, errors = load_library(args)
    return TeachSession(good, Z, LabelBook(args.labels, labels)), clf, errors


def run(args) -> int:
    import sys

    import uvicorn

    from ..extras import has
    from ..serve.teach_app import create_teach_app

    check_outputs(("--labels", args.labels, False), ("--out", args.out, False),
                  ("--cache-dir", args.cache_dir, True))
    session, clf, errors = build_session(args)
    report_failures(errors)
    save = None
    if has("torch"):
        from ..teach.model import base_checkpoint, save_song_model

        try:
            ckpt = base_checkpoint(clf)
            save = lambda: save_song_model(session, ckpt, args.out)  # noqa: E731
        except Exception as exc:  # noqa: BLE001 - the page works without saving
            report("note", clf.source, f"no 'save model' on the page: {exc}")
    guard = build_guard(args, json_paths=("/api/",))  # always a token: the page is personal
    app = create_teach_app(session, clf, save_model=save, guard=guard)
    print(f"genrekit teach: {len(session.paths)} songs, {session.state()['labelled']} "
          f"labelled; labels go to {args.labels}; open {guard.url(args.host, args.port)}",
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0

