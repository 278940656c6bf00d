"""``genrekit ensemble CKPT CKPT... --out ens.pt [--fit DATA --subset valid]``: average
several models; weights equal, or fitted on validation songs."""

from __future__ import annotations

from .common import selected_catalog


def add_arguments(p) -> None:
    p.add_argument("checkpoints", nargs="+", metavar="CKPT", help=".pt checkpoints (2 or more)")
    p.add_argument("--out", required=True, help="the ensemble file (.pt)")
    p.add_argument("--weights", help="comma-separated member weights (default equal)")
    p.add_argument("--fit", metavar="DATA", help="fit the weights on these labelled songs "
                                                 "(validation songs, never training ones)")
    p.add_argument("--split", help="with --fit: only the files in this list")
    p.add_argument("--subset", choices=["train", "valid", "test"], default=None)
    p.add_argument("--jobs", "-j", type=int, default=1)


def run(args) -> int:
    from ..checkpoint import load_checkpoint, save_checkpoint
    from ..errors import ParameterError
    from ..inference.ensemble import make_ensemble

    cks = [load_checkpoint(p) for p in args.checkpoints]
    if any(ck.get("kind") == "ensemble" for ck in cks):
        raise ParameterError("members must be single models, not ensembles")
    weights = None
    if args.weights:
        weights = [float(w) for w in args.weights.split(",")]
    ens = make_ensemble(cks, weights)
    if args.fit:
        ens = _fit(ens, cks, args)
    save_checkpoint(args.out, ens)
    print(f"ensemble of {len(cks)} models, weights "
          f"{', '.join(f'{w:.2f}' for w in ens['weights'])} -> {args.out}")
    return 0


def _fit(ens, cks, args):
    """Weights that maximise validation accuracy over the songs every member could read."""
    import numpy as np

    from ..inference.classifier import GenreClassifier
    from ..inference.ensemble import fit_weights, make_ensemble

    cat = selected_catalog(args.fit, split=args.split, subset=args.subset)
    classes = ens["classes"]
    tracks = [t for t in cat if t.label in classes]
    preds = []
    for p in args.checkpoints:
        clf = GenreClassifier.load(p)
        preds.append({q: pr for q, pr, err in clf.predict_many([t.path for t in tracks],
                                                               jobs=args.jobs) if not err})
    common = [str(t.path) for t in tracks if all(str(t.path) in pr for pr in preds)]
    labels = np.array([classes.index(t.label) for t in tracks if str(t.path) in common])
    scores = [np.array([[pr[q].scores[c] for c in classes] for q in common]) for pr in preds]
    out = make_ensemble(cks, fit_weights(scores, labels))
    out["metrics"] = {"weights_fitted_on_songs": len(common),
                      "member_accuracy": [float((s.argmax(1) == labels).mean())
                                          for s in scores]}
    return out
