"""``genrekit info``: the version, and where genrekit keeps its state
(``paths``: the user data and cache folders, ``GENREKIT_HOME`` when set) with their sizes."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("--format", choices=["table", "json"], default="table")


def run(args) -> int:
    import json
    import os

    from .. import __version__
    from ..paths import HOME_VAR, cache_dir, data_dir, default_db, default_labels, folder_size

    rows = []
    for name, path in (("data", data_dir()), ("cache", cache_dir())):
        files, size = folder_size(path)
        rows.append({"what": name, "path": str(path), "files": files, "bytes": size,
                     "exists": path.is_dir()})
    info = {"version": __version__, "home_variable": HOME_VAR,
            "home": os.environ.get(HOME_VAR) or None, "folders": rows,
            "prediction_store": default_db(), "teach_labels": default_labels()}
    if args.format == "json":
        print(json.dumps(info, indent=1))
        return 0
    print(f"genrekit {__version__}")
    print(f"{HOME_VAR}: {info['home'] or '(not set: the platform user folders)'}")
    for r in rows:
        size = f"{r['files']} files, {r['bytes'] / 1e6:.1f} MB" if r["exists"] else "not created"
        print(f"{r['what']:6s} {r['path']}  ({size})")
    print(f"prediction store (tag, library): {info['prediction_store']}")
    print(f"teach labels (teach, suggest):   {info['teach_labels']}")
    return 0
