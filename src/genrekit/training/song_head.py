"""A song-level linear head on a frozen backbone's slice embeddings.

Multinomial logistic regression on the mean of a song's slice embeddings (standardised),
class-balanced, L2-regularised as scikit-learn's ``LogisticRegression(C=...)``. Because it
is linear, ``W . mean(e_i) + b = mean(W . e_i + b)``: the song-level model is exactly the
same linear head applied to every slice (which gives the per-slice timeline) with slice
probabilities combined by their geometric mean (``aggregate`` rule ``geometric``). So it
ships as an ordinary per-slice head, and the inference contract does not change.
"""

from __future__ import annotations

import numpy as np


def song_means(embeddings: list[np.ndarray]) -> np.ndarray:
    """``[S, D]``: each song's mean slice embedding (``embeddings``: per song ``[N_i, D]``)."""
    return np.stack([np.asarray(e, np.float64).mean(0) for e in embeddings])


def fit_logistic(X: np.ndarray, y: np.ndarray, num_classes: int, *, C: float = 1.0,
                 balanced: bool = True, max_iter: int = 500, tol: float = 1e-8
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: minimises ``0.5 |W|^2 + C * sum_i w_i CE_i``
    (``w_i`` = 1, or n / (K n_class) when ``balanced``; the bias is not penalised), by
    L-BFGS in float64. Returns ``(W [K, D], b [K])``."""
    import torch

    X = torch.as_tensor(np.asarray(X, np.float64))
    yt = torch.as_tensor(np.asarray(y, np.int64))
    n, d = X.shape
    counts = np.bincount(np.asarray(y), minlength=num_classes).astype(np.float64)
    w = (n / (num_classes * np.maximum(counts, 1)))[np.asarray(y)] if balanced else np.ones(n)
    wt = torch.as_tensor(w)
    W = torch.zeros(num_classes, d, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=max_iter, tolerance_grad=tol,
                            tolerance_change=tol * 1e-3, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        ce = torch.nn.functional.cross_entropy(X @ W.T + b, yt, reduction="none")
        loss = 0.5 * (W ** 2).sum() + C * (wt * ce).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach().numpy(), b.detach().numpy()


def fit_song_head(embeddings: list[np.ndarray], labels, num_classes: int, *,
                  C: float = 1.0, balanced: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardise the songs' mean embeddings, fit :func:`fit_logistic`. Returns
    ``(mean [D], std [D], W [K, D], b [K])``: slice logits are ``((e - mean) / std) W^T + b``."""
    Z = song_means(embeddings)
    mu, sd = Z.mean(0), Z.std(0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    W, b = fit_logistic((Z - mu) / sd, labels, num_classes, C=C, balanced=balanced)
    return mu, sd, W, b


def slice_logits(E: np.ndarray, head) -> np.ndarray:
    """Logits ``[N, K]`` of slice embeddings ``E [N, D]`` under a fitted head."""
    mu, sd, W, b = head
    return ((np.asarray(E, np.float64) - mu) / sd) @ W.T + b


def install_head(model, head) -> None:
    """Make ``model.head`` compute the fitted song head's slice logits in eval mode.

    A head that starts with BatchNorm1d (musicnn's) holds the standardisation there
    (running statistics and scale set so that ``BN(x) = (x - mean) / std``) and the linear
    layer ``W x + b``; a dropout + linear head gets the standardisation folded into its
    weights (``W / std``, ``b - W . mean / std``)."""
    import torch
    from torch import nn

    from ..errors import ParameterError

    mu, sd, W, b = head
    mods = list(model.head.modules())
    linears = [m for m in mods if isinstance(m, nn.Linear)]
    bns = [m for m in mods if isinstance(m, nn.BatchNorm1d)]
    if len(linears) != 1 or len(bns) > 1:
        raise ParameterError(f"a song head needs a head with one Linear layer (and at most "
                             f"one BatchNorm1d before it); {type(model).__name__} has "
                             f"{model.head}")
    linear = linears[0]
    with torch.no_grad():
        if bns:
            bn = bns[0]
            bn.running_mean.copy_(torch.as_tensor(mu))
            bn.running_var.copy_(torch.as_tensor(sd ** 2))
            bn.weight.copy_(torch.as_tensor(np.sqrt(sd ** 2 + bn.eps) / sd))
            bn.bias.zero_()
        else:
            W, b = W / sd, b - (W / sd) @ mu
        linear.weight.copy_(torch.as_tensor(W))
        linear.bias.copy_(torch.as_tensor(b))
