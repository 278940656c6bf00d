"""What a song's genre field should hold: which genres (several, above a score), in whose
words (``vocabulary``), for the track alone or for its whole album or artist.

Album mode: the tracks' song probabilities are averaged per album (album artist + album
from the tags, the folder when the tags lack them), so every track gets the album's
genres; a track whose own top genre differs from the album's with at least
``exception_confidence`` keeps its own when ``per_track_exceptions`` is set, and is
reported either way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ParameterError
from .vocabulary import Vocabulary

SOURCES = ("track", "album", "artist")


@dataclass(frozen=True)
class TagPlan:
    max_genres: int = 1
    min_score: float = 0.2  # for the genres after the first
    vocabulary: Vocabulary | None = None
    separator: str | None = None  # join into one value (for players that want one string)
    source: str = "track"
    per_track_exceptions: bool = False
    exception_confidence: float = 0.6

    def __post_init__(self):
        if self.max_genres < 1:
            raise ParameterError(f"max_genres must be >= 1, got {self.max_genres}")
        if not 0 <= self.min_score <= 1:
            raise ParameterError(f"min_score must be in [0, 1], got {self.min_score}")
        if self.source not in SOURCES:
            raise ParameterError(f"source must be one of {', '.join(SOURCES)}, got "
                                 f"{self.source!r}")
        if self.separator is not None and (len(self.separator) != 1 or
                                           not self.separator.isprintable()):
            raise ParameterError(f"a separator is one printable character, got "
                                 f"{self.separator!r}")


def plan_from_options(*, max_genres: int = 1, min_score: float = 0.2, separator=None,
                      source: str = "track", per_track_exceptions: bool = False,
                      genre_map=None, canonical=None, whitelist=None,
                      prefer_specific: bool = False, title_case: bool = False) -> TagPlan:
    """The plan of ``genrekit tag``'s options and the beets plugin's config (the same
    names): a vocabulary only where a map, tree, whitelist or title case is asked for. A
    bad value or file is a ``ParameterError`` / ``ConfigError`` naming it."""
    vocab = None
    if genre_map or canonical or whitelist or title_case:
        vocab = Vocabulary.load(genre_map=genre_map, canonical=canonical, whitelist=whitelist,
                                prefer_specific=prefer_specific, title_case=title_case)
    return TagPlan(max_genres=max_genres, min_score=min_score, vocabulary=vocab,
                   separator=separator, source=source,
                   per_track_exceptions=per_track_exceptions)


def genres_for(scores: dict[str, float], plan: TagPlan) -> list[str]:
    """The values to write: the top genre, then others scoring ``min_score`` or more, up to
    ``max_genres``, named by the vocabulary (unwritable ones dropped), joined by the
    separator when one is given."""
    ranked = sorted(scores, key=scores.get, reverse=True)
    chosen = ranked[:1] + [g for g in ranked[1:] if scores[g] >= plan.min_score]
    chosen = chosen[:plan.max_genres]
    names = plan.vocabulary.names(chosen) if plan.vocabulary else chosen
    if plan.separator and names:
        return [plan.separator.join(names)]
    return names


def group_key(path: str, source: str) -> str:
    """The album (album artist + album) or artist of a file from its tags, its folder when
    they lack them."""
    info = _tags(path)
    artist = info.get("albumartist") or info.get("artist")
    if source == "artist":
        return f"artist:{artist}" if artist else f"folder:{os.path.dirname(os.path.abspath(path))}"
    album = info.get("album")
    if album:
        return f"album:{artist or '?'} - {album}"
    return f"folder:{os.path.dirname(os.path.abspath(path))}"


def _tags(path) -> dict[str, str]:
    import mutagen

    try:
        f = mutagen.File(str(path), easy=True)
    except Exception:  # noqa: BLE001 - unreadable tags: the folder decides
        return {}
    if f is None or f.tags is None:
        return {}
    out = {}
    for k in ("album", "albumartist", "artist"):
        try:
            v = f.tags.get(k)
        except (KeyError, ValueError):
            v = None
        if v:
            out[k] = str(v[0]).strip()
    return out


def group_scores(preds: dict[str, dict], plan: TagPlan):
    """``(scores per path, groups)``: with an album/artist source each path's scores become
    its group's mean (or stay its own for a confident exception with
    ``per_track_exceptions``); ``groups`` lists each group's key, tracks, genre and the
    tracks whose own top genre differs (``disagree``)."""
    if plan.source == "track":
        return {p: d["scores"] for p, d in preds.items()}, []
    members: dict[str, list[str]] = {}
    for p in preds:
        members.setdefault(group_key(p, plan.source), []).append(p)
    out, groups = {}, []
    for key, paths in members.items():
        classes = list(preds[paths[0]]["scores"])
        mean = {c: sum(preds[p]["scores"][c] for p in paths) / len(paths) for c in classes}
        top = max(mean, key=mean.get)
        disagree = []
        for p in paths:
            own = preds[p]["scores"]
            mine = max(own, key=own.get)
            exception = mine != top and own[mine] >= plan.exception_confidence
            if mine != top:
                disagree.append({"file": p, "genre": mine, "score": own[mine],
                                 "kept": exception and plan.per_track_exceptions})
            out[p] = own if (exception and plan.per_track_exceptions) else mean
        groups.append({"key": key, "tracks": len(paths), "genre": top, "disagree": disagree})
    return out, groups
