"""Which songs to label next: pure functions of (song embeddings, labels so far) -> ranked
indices, numpy only (no audio, no torch, never the bundled head's genres: a user's taxonomy
is not GTZAN's).

- cold start (fewer than 3 labels per genre seen so far, at least 10, or one genre so far):
  **TypiClust**
  (Hacohen et al. 2022): k-means into (labelled + wanted) clusters; from each of the
  largest clusters holding no labelled song, its most typical song (highest density: the
  inverse mean distance to its nearest neighbours in the cluster). Typical and diverse
  songs first: at small budgets plain uncertainty is worse than random;
- then **margin + diversity**: a class-balanced logistic head on the labels so far; the
  candidates are the songs with the smallest margin between their two most probable
  genres; k-means splits the candidates and the least certain song of each cluster is
  taken, so a batch is not ten near-copies of one confusion;
- plus **discovery**: a share of picks (``discovery``) are the songs farthest from every
  labelled song (k-center), where a genre not yet labelled would be.

Embeddings are the songs' mean embeddings of the model (``Prediction.embedding``),
standardised over the whole library.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

#: typical-and-diverse picks until there are this many labels per genre seen (and at
#: least COLD_LABELS): benchmarks/teach_sim.py on the GTZAN copy (10 genres, 10 seeds):
#: a 30-label cold start gave macro-F1 0.659 at 30 labels (random: 0.647 at 60) and 90 %
#: of the all-labels macro-F1 at 40 labels (random: 90); 10 labels: 0.599 at 30, 60
COLD_PER_GENRE = 3
COLD_LABELS = 10
STRATEGIES = ("auto", "typiclust", "margin", "kcenter", "random")


def standardize(Z) -> np.ndarray:
    Z = np.asarray(Z, np.float64)
    sd = Z.std(0)
    return (Z - Z.mean(0)) / np.where(sd > 1e-8, sd, 1.0)


def unit(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def kmeans(X: np.ndarray, k: int, *, seed: int = 0, iters: int = 30,
           restarts: int = 3) -> np.ndarray:
    """Cluster of every row: greedy k-means++ seeding (2 + log k candidates a step, the one
    that lowers the potential most, as scikit-learn), Lloyd iterations; the best of
    ``restarts`` runs by inertia."""
    n = len(X)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    sq = (X ** 2).sum(1)
    best, best_inertia = None, np.inf
    for _ in range(restarts):
        assign, inertia = _lloyd(X, sq, _seeds(X, sq, k, rng), iters)
        if inertia < best_inertia:
            best, best_inertia = assign, inertia
    return best


def _seeds(X, sq, k, rng) -> np.ndarray:
    n = len(X)
    trials = 2 + int(np.log(k))
    centres = [int(rng.integers(n))]
    d = np.maximum(sq - 2 * X @ X[centres[0]] + sq[centres[0]], 0)
    for _ in range(1, k):
        if d.sum() <= 0:
            centres.append(int(rng.integers(n)))
            continue
        cand = rng.choice(n, size=trials, p=d / d.sum())
        dc = np.maximum(sq[None] - 2 * X[cand] @ X.T + sq[cand][:, None], 0)
        pot = np.minimum(d[None], dc).sum(1)
        j = int(pot.argmin())
        centres.append(int(cand[j]))
        d = np.minimum(d, dc[j])
    return X[centres].copy()


def _lloyd(X, sq, C, iters) -> tuple[np.ndarray, float]:
    assign = np.full(len(X), -1)
    for _ in range(iters):
        dist = sq[:, None] - 2 * X @ C.T + (C ** 2).sum(1)[None]
        new = dist.argmin(1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(len(C)):
            members = X[assign == j]
            if len(members):
                C[j] = members.mean(0)
    dist = sq[:, None] - 2 * X @ C.T + (C ** 2).sum(1)[None]
    return assign, float(np.maximum(dist[np.arange(len(X)), assign], 0).sum())


def typiclust(X: np.ndarray, labelled: np.ndarray, n: int, *, seed: int = 0,
              neighbours: int = 20) -> list[int]:
    """``n`` typical songs of the largest clusters without a labelled song."""
    k = len(labelled) + n
    assign = kmeans(X, k, seed=seed)
    covered = set(assign[labelled].tolist())
    sizes = np.bincount(assign, minlength=k)
    out = []
    for j in np.argsort(-sizes, kind="stable"):
        if len(out) == n or sizes[j] == 0:
            break
        if j in covered:
            continue
        idx = np.flatnonzero(assign == j)
        out.append(int(idx[_densest(X[idx], neighbours)]))
    if len(out) < n:  # fewer empty clusters than wanted: fill by distance
        out += [i for i in kcenter(X, np.r_[labelled, out].astype(int), n - len(out))]
    return out


def _densest(A: np.ndarray, neighbours: int) -> int:
    if len(A) <= 2:
        return 0
    sq = (A ** 2).sum(1)
    d = np.sqrt(np.maximum(sq[:, None] - 2 * A @ A.T + sq[None], 0))
    d.sort(1)
    k = min(neighbours, len(A) - 1)
    return int(np.argmin(d[:, 1:k + 1].mean(1)))


def kcenter(X: np.ndarray, labelled: np.ndarray, n: int) -> list[int]:
    """Greedy k-center: each pick is the song farthest from every labelled or picked one."""
    sq = (X ** 2).sum(1)
    if len(labelled):
        d = np.min(sq[:, None] - 2 * X @ X[labelled].T + sq[labelled][None], axis=1)
    else:
        d = sq - 2 * X @ X.mean(0) + (X.mean(0) ** 2).sum()
    d = np.maximum(d, 0)
    d[labelled] = -1
    out = []
    for _ in range(min(n, len(X) - len(labelled))):
        i = int(d.argmax())
        out.append(i)
        d = np.minimum(d, np.maximum(sq - 2 * X @ X[i] + sq[i], 0))
        d[i] = -1
    return out


def fit_head(X: np.ndarray, y: np.ndarray, *, C: float = 0.1):
    """A class-balanced multinomial logistic regression (L2, as the song head), by
    L-BFGS: ``(classes, W [k, D], b [k])``. Milliseconds for a few hundred labels."""
    from scipy.optimize import minimize

    classes, yi = np.unique(y, return_inverse=True)
    k, (n, d) = len(classes), X.shape
    Y = np.eye(k)[yi]
    w = (n / (k * Y.sum(0)))[yi] * C

    def f(p):
        W, b = p[:k * d].reshape(k, d), p[k * d:]
        L = X @ W.T + b
        L -= L.max(1, keepdims=True)
        logp = L - np.log(np.exp(L).sum(1, keepdims=True))
        G = w[:, None] * (np.exp(logp) - Y)
        loss = -(w * logp[np.arange(n), yi]).sum() + 0.5 * (W ** 2).sum()
        return loss, np.concatenate([(G.T @ X + W).ravel(), G.sum(0)])

    r = minimize(f, np.zeros(k * d + k), jac=True, method="L-BFGS-B",
                 options={"maxiter": 500})
    return classes, r.x[:k * d].reshape(k, d), r.x[k * d:]


def head_proba(head, X: np.ndarray) -> np.ndarray:
    _, W, b = head
    L = X @ W.T + b
    L -= L.max(1, keepdims=True)
    P = np.exp(L)
    return P / P.sum(1, keepdims=True)


def margin_diverse(X: np.ndarray, labelled: np.ndarray, y: np.ndarray, n: int, *,
                   seed: int = 0, pool_factor: int = 5) -> list[int]:
    """The least certain songs (smallest top-2 margin), one per k-means cluster of the
    ``pool_factor * n`` least certain."""
    pool = np.setdiff1d(np.arange(len(X)), labelled)
    if n <= 0:
        return []
    if len(pool) <= n:
        return pool.tolist()
    P = head_proba(fit_head(X[labelled], y), X[pool])
    top2 = np.sort(P, 1)[:, -2:] if P.shape[1] > 1 else np.c_[np.zeros(len(P)), P]
    margin = top2[:, 1] - top2[:, 0]
    cand = pool[np.argsort(margin, kind="stable")[:pool_factor * n]]
    cm = dict(zip(pool.tolist(), margin.tolist(), strict=True))
    assign = kmeans(X[cand], n, seed=seed)
    picks = [min(cand[assign == j], key=cm.get) for j in range(n) if (assign == j).any()]
    picks = sorted((int(i) for i in picks), key=cm.get)
    return picks + [int(i) for i in cand if i not in picks][:n - len(picks)]


def select(Z, labels, n: int, *, strategy: str = "auto", discovery: float = 0.2,
           seed: int = 0, cold_labels: int | None = None, exclude=()) -> list[int]:
    """The next ``n`` songs to label, best first.

    ``Z [S, D]``: every song's embedding; ``labels``: a length-S sequence with each song's
    genre (any hashable) or None when unlabelled. ``strategy``: ``auto`` (TypiClust while
    cold, i.e. before ``cold_labels`` labels (default: 3 per genre labelled so far, at
    least 10), then margin + diversity with a ``discovery`` share of k-center picks),
    ``typiclust``, ``margin`` (TypiClust until two genres are labelled), ``kcenter`` or
    ``random``. ``exclude``: songs never to suggest (skipped ones)."""
    exclude = set(int(i) for i in exclude)
    if exclude:
        picks = select(Z, labels, n + len(exclude), strategy=strategy, discovery=discovery,
                       seed=seed, cold_labels=cold_labels)
        return [i for i in picks if i not in exclude][:n]
    if strategy not in STRATEGIES:
        raise ParameterError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    if not 0 <= discovery <= 1:
        raise ParameterError(f"discovery must be in [0, 1], got {discovery}")
    X = standardize(Z)
    labels = list(labels)
    if len(labels) != len(X):
        raise ParameterError(f"{len(labels)} labels for {len(X)} songs")
    lab = np.array([i for i, v in enumerate(labels) if v is not None], int)
    n = max(0, min(int(n), len(X) - len(lab)))
    if n == 0:
        return []
    y = np.array([str(labels[i]) for i in lab])
    genres = len(set(y.tolist()))
    if cold_labels is None:
        cold_labels = max(COLD_LABELS, COLD_PER_GENRE * genres)
    cold = len(lab) < cold_labels or genres < 2
    if strategy == "random":
        pool = np.setdiff1d(np.arange(len(X)), lab)
        return [int(i) for i in np.random.default_rng(seed).permutation(pool)[:n]]
    if strategy == "kcenter":
        return kcenter(X, lab, n)
    if strategy == "typiclust" or (strategy == "auto" and cold) or len(set(y.tolist())) < 2:
        return typiclust(X, lab, n, seed=seed)  # margin needs two genres to compare
    n_new = 0
    if strategy == "auto" and discovery > 0:  # one pick in 1/discovery looks for new genres
        every = max(1, round(1 / discovery))
        n_new = sum((len(lab) + j) % every == every - 1 for j in range(n))
    picks = margin_diverse(X, lab, y, n - n_new, seed=seed)
    if n_new:
        picks += [i for i in kcenter(X, np.r_[lab, picks].astype(int), n_new)]
    return picks
