"""Per-slice embeddings of every labelled song of a catalog through the pretrained musicnn
network(s), cached in one .npz for the cross-validation table (``accuracy_cv.py``).

Each 3 s slice of a song's grid (no overlap, musicnn's own windows) gives ``max_pool`` and
``mean_pool`` (753-d each), ``penultimate`` (200-d) and the pretrained tagger's 50 tag
logits. Also each song's MFCC mean+std (the MFCC reference row).

Usage: python benchmarks/cv_embed.py [DATA] [--out runs/cv/embeddings-msd.npz]
       [--net msd|mtt|vgg_msd|vgg_mtt]
DATA: a catalog (folder per genre or CSV with a group/artist column); default: the shared
GTZAN copy's index.csv, train + valid only (never ``unlisted``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _shared import GTZAN


def labelled_tracks(data):
    from genrekit.data import load_catalog

    cat = load_catalog(data)
    tracks = [t for t in cat if t.label is not None]
    if Path(data) == GTZAN / "index.csv":
        tracks = [t for t in tracks if t.split in ("train", "valid")]  # never `unlisted`
        assert all(t.split != "unlisted" for t in tracks)
    return tracks


def main(argv=None) -> None:
    import torch

    from genrekit.config import load_config
    from genrekit.data.slices import slice_frames
    from genrekit.features import FeatureSpec, compute_features
    from genrekit.models import create_model
    from genrekit.training.songs import load_songs

    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=str(GTZAN / "index.csv"))
    ap.add_argument("--out", default="runs/cv/embeddings-msd.npz")
    ap.add_argument("--net", default="msd")
    ap.add_argument("--cache-dir", default="cache")
    a = ap.parse_args(argv)
    tracks = labelled_tracks(a.data)
    classes = sorted({t.label for t in tracks})
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.yaml")
    spec = cfg.features
    width, hop = slice_frames(cfg.slices, spec)
    songs, failures = load_songs(tracks, classes, spec, a.cache_dir, jobs=2)
    assert not failures, failures
    vgg = a.net.startswith("vgg_")  # vgg_msd, vgg_mtt: the VGG baselines
    if vgg:
        net = create_model("musicnn_vgg", len(classes), 1, pretrained=a.net[4:],
                           keep_tagger=True).eval()
    else:
        net = create_model("musicnn", len(classes), 1, pretrained=a.net, keep_tagger=True,
                           embedding="penultimate").eval()
    from genrekit.data.slices import grid_slices

    keys = ("pool5", "tags") if vgg else ("max_pool", "mean_pool", "penultimate", "tags")
    emb = {k: [] for k in keys}
    torch.set_num_threads(2)
    with torch.inference_mode():
        for i, X in enumerate(songs.features):
            S, _ = grid_slices(X.astype(np.float32), width, hop)
            x = torch.from_numpy(S)
            if vgg:
                z = net.pool5(x)
                out = {"pool5": z, "tags": net.tagger(z)}
            else:
                out = net.embeddings(x)
            for k in emb:
                emb[k].append(out[k].numpy())
            if i % 50 == 0:
                print(f"{i}/{len(songs)}", flush=True)
    by_path = {str(t.path): t for t in tracks}
    mfcc_spec = FeatureSpec(names=("mfcc",))
    mfcc = []
    for p in songs.paths:
        from genrekit.audio import load_checked

        M = compute_features(load_checked(p, mfcc_spec.sr), mfcc_spec.sr, mfcc_spec)[0]
        mfcc.append(np.concatenate([M.mean(1), M.std(1)]))
    n = np.array([len(e) for e in emb[keys[0]]])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(a.out, classes=np.array(classes), labels=songs.labels,
             paths=np.array(songs.paths),
             groups=np.array([by_path[p].group or f"<unknown:{p}>" for p in songs.paths]),
             n_slices=n, mfcc=np.stack(mfcc),
             **{k: np.concatenate(v) for k, v in emb.items()})
    print(f"wrote {a.out}: {len(songs)} songs, {n.sum()} slices")


if __name__ == "__main__":
    main()
