"""``genrekit serve [--model PATH] [--host 127.0.0.1] [--port 8000]``."""

from __future__ import annotations

from .common import (
    add_guard_args,
    add_model_file_arg,
    add_open_set_args,
    build_guard,
    in_range,
    open_set_kwargs,
    warn_open_set,
)

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("serve",)


def add_arguments(p) -> None:
    add_model_file_arg(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=in_range(int, lo=0, hi=65535), default=8000,
                   help="TCP port, 0..65535 (default 8000)")
    p.add_argument("--max-upload-mb", type=in_range(float, lo=0, lo_open=True), default=50.0,
                   help="largest accepted upload in MB (default 50)")
    p.add_argument("--concurrency", type=in_range(int, lo=1), default=2,
                   help="predictions computed at once (default 2)")
    p.add_argument("--device", default="cpu")
    add_guard_args(p, token_choice=True)
    add_open_set_args(p)


def run(args) -> int:
    import uvicorn

    from ..errors import ParameterError
    from ..inference.classifier import load_classifier
    from ..serve.app import create_app

    if args.concurrency < 1 or args.max_upload_mb <= 0:
        raise ParameterError("--concurrency must be >= 1 and --max-upload-mb > 0")
    clf = load_classifier(args.model, device=args.device, precision=args.precision,
                          explain=True, **open_set_kwargs(args))
    warn_open_set(clf)
    guard = build_guard(args)
    app = create_app(clf, max_upload=int(args.max_upload_mb * 1024 * 1024),
                     max_concurrency=args.concurrency, guard=guard)
    print(f"genrekit serving {clf.source}: open {guard.url(args.host, args.port)} (API docs: "
          "/docs, schema: "
          "/openapi.json" + (f"; API clients send 'Authorization: Bearer {guard.token}'"
                             if guard.token else "") + ")")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
