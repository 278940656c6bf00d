"""``genrekit ensemble CKPT CKPT... --out ens.pt [--fit DATA --subset valid]``: average
several models; weights equal, or fitted on validation songs."""

from __future__ import annotations

from .common import add_catalog_selection, add_jobs_arg, check_outputs, selected_catalog

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("train",)


def add_arguments(p) -> None:
    p.add_argument("checkpoints", nargs="+", metavar="CKPT", help=".pt checkpoints (2 or more)")
    p.add_argument("--out", required=True, help="the ensemble file (.pt)")
    p.add_argument("--weights", help="comma-separated member weights (default equal)")
    p.add_argument("--fit", metavar="DATA", help="fit the weights on these labelled songs "
                                                 "(validation songs, never training ones)")
    add_catalog_selection(p, what="with --fit: ")
    add_jobs_arg(p)


def run(args) -> int:
    from ..checkpoint import load_checkpoint, save_checkpoint
    from ..errors import ParameterError
    from ..inference.classifier import load_classifier
    from ..inference.ensemble import fit_ensemble, make_ensemble

    check_outputs(("--out", args.out, False))
    cks = [load_checkpoint(p) for p in args.checkpoints]
    if any(ck.get("kind") == "ensemble" for ck in cks):
        raise ParameterError("members must be single models, not ensembles")
    weights = None
    if args.weights:
        weights = [float(w) for w in args.weights.split(",")]
    ens = make_ensemble(cks, weights)
    if args.fit:
        cat = selected_catalog(args.fit, split=args.split, subset=args.subset,
                               audio_dir=args.audio_dir, on_conflict=args.on_conflict)
        members = [load_classifier(p) for p in args.checkpoints]
        ens = fit_ensemble(cks, members, list(cat), jobs=args.jobs)
    save_checkpoint(args.out, ens)
    print(f"ensemble of {len(cks)} models, weights "
          f"{', '.join(f'{w:.2f}' for w in ens['weights'])} -> {args.out}")
    return 0
