"""``tag_files``: predict each file's genre and write it into the file's tags, safely.

Order per file: check it can be tagged and written, read the old values, predict (through
the prediction store when given), decide (threshold, mode), then journal ``planned`` -> atomic write
-> journal ``done``. A file whose bytes change between the first look and the write is
skipped. ``undo`` restores the journal's old values on files still as written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..audio import check_regular_file
from ..errors import AudioLoadError
from ..features.cache import file_digest
from ..inference.open_set import UNKNOWN
from .journal import Journal
from .tags import TagError, read_tag, tag_kind, write_tag

MODES = ("fill", "overwrite", "append")


@dataclass
class TagResult:
    file: str
    # written | would-write | unchanged | uncertain | unknown | skipped | error | done-before
    # | restored
    action: str
    old: list[str] = field(default_factory=list)
    new: list[str] | None = None
    label: str | None = None
    score: float | None = None
    reason: str = ""
    neighbours: list[dict] | None = None  # the training songs it is most like (--explain)


def new_values(old: list[str], values, mode: str) -> list[str] | None:
    """What the field becomes (``values``: one genre or several), or None when it stays as
    it is. ``fill``: only an empty field; ``overwrite`` (``--force``): replace;
    ``append`` (``--keep-existing``): add the genres it lacks, keep the rest."""
    values = [values] if isinstance(values, str) else list(values)
    if mode == "fill":
        return None if any(v.strip() for v in old) else values
    if mode == "overwrite":
        return None if old == values else values
    if mode == "append":
        add = [v for v in values if v not in old]
        return [*old, *add] if add else None
    raise ValueError(mode)


def model_id(classifier) -> str:
    """The model file and, where it can say "unknown", the thresholds in use: a stored
    prediction is reused only under the same rule."""
    mid = f"{os.path.basename(classifier.source)}:{file_digest(classifier.source)[:12]}"
    for key, name in (("n", "novelty_threshold"), ("c", "min_confidence")):
        if (v := getattr(classifier, name, None)) is not None:
            mid += f":{key}{v:g}"
    return mid


def tag_files(paths, classifier, *, field_name: str = "genre", mode: str = "fill",
              min_confidence: float = 0.5, dry_run: bool = False, journal=None, store=None,
              jobs: int = 1, progress=None, plan=None, summary: dict | None = None
              ) -> list[TagResult]:
    """Tag ``paths``; ``plan`` (``choose.TagPlan``): how many genres, in whose words, per
    track or per album/artist; ``summary`` (a dict) receives the album/artist groups."""
    from ..errors import ParameterError

    if mode not in MODES:
        raise ParameterError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not 0 <= min_confidence <= 1:
        raise ParameterError(f"min_confidence must be in [0, 1], got {min_confidence}")
    jr = Journal(journal) if journal else None
    state = jr.state() if jr else {}
    mid = model_id(classifier)
    results: dict[str, TagResult] = {}
    todo: list[tuple[str, str, list[str]]] = []
    for p in map(str, paths):
        try:
            tag_kind(p)
            check_regular_file(p)  # a FIFO would block the hashing below
            digest = file_digest(p)
            prev = state.get(os.path.abspath(p))
            if prev and prev.get("status") == "done" and prev.get("hash_after") == digest:
                results[p] = TagResult(p, "done-before", prev["old"], prev["new"],
                                       reason="already written by this journal")
                continue
            if prev and prev.get("status") == "planned" and digest != prev["hash_before"]:
                if read_tag(p, field_name) == prev["new"]:  # written, killed before 'done'
                    jr.append(file=p, status="done", hash_after=digest)
                    results[p] = TagResult(p, "done-before", prev["old"], prev["new"],
                                           reason="finished by the interrupted run")
                    continue
            old = read_tag(p, field_name)
        except (TagError, AudioLoadError) as exc:
            results[p] = TagResult(p, "skipped", reason=exc.reason)
            continue
        except OSError as exc:
            results[p] = TagResult(p, "error", reason=f"cannot read: {exc.strerror or exc}")
            continue
        todo.append((p, digest, old))

    from .choose import TagPlan, genres_for, group_scores

    plan = plan or TagPlan()
    preds = _predict(classifier, todo, store, mid, jobs, progress)
    known = {p: d for p, (d, err) in preds.items() if not err and d["label"] != UNKNOWN}
    scores_of, groups = group_scores(known, plan)  # an unknown song joins no album vote
    if summary is not None:
        summary["groups"] = groups
    for p, digest, old in todo:
        pred, err = preds[p]
        if err:
            results[p] = TagResult(p, "error", old, reason=err)
            continue
        label, score = pred["label"], float(pred["score"])
        r = TagResult(p, "unchanged", old, None, label, score,
                      neighbours=pred.get("neighbours"))
        results[p] = r
        if label == UNKNOWN:  # never written: a confident wrong genre is worse than none
            closest = max(pred["scores"], key=pred["scores"].get) if pred.get("scores") else "?"
            r.action, r.reason = "unknown", f"not one of the model's genres (closest: {closest})"
            continue
        if score < min_confidence:
            r.action, r.reason = "uncertain", f"confidence {score:.2f} < {min_confidence:g}"
            continue
        values = genres_for(scores_of[p], plan)
        if not values:
            r.action, r.reason = "skipped", "no genre of your vocabulary to write"
            continue
        new = new_values(old, values, mode)
        if new is None:
            r.reason = "already set" if mode != "fill" else "field not empty (mode fill)"
            continue
        r.new = new
        if _read_only(p):  # a dry run says what the real run would do
            r.action, r.reason = "skipped", "read-only"
            continue
        if dry_run:
            r.action = "would-write"
            continue
        if file_digest(p) != digest:
            r.action, r.reason = "skipped", "file changed during the run"
            continue
        if jr:
            jr.append(file=p, status="planned", field=field_name, hash_before=digest, old=old,
                      new=new, label=label, score=score)
        try:
            write_tag(p, new, field_name)
        except (TagError, OSError) as exc:
            r.action, r.reason = "error", getattr(exc, "reason", None) or str(exc)
            continue
        if jr:
            jr.append(file=p, status="done", hash_after=file_digest(p))
        r.action = "written"
    return [results[str(p)] for p in paths]


def _read_only(p) -> bool:
    """The file is marked read-only (no owner write bit: respected even by root) or this
    user may not replace it (file or folder not writable)."""
    import stat

    if not os.stat(p).st_mode & stat.S_IWUSR:
        return True
    return not (os.access(p, os.W_OK) and os.access(os.path.dirname(p) or ".", os.W_OK))


def _predict(classifier, todo, store, mid, jobs, progress):
    out, need = {}, []
    explain = getattr(classifier, "explain", False)  # reasons are not stored: predict anew
    for p, digest, _ in todo:
        hit = store.get(p, digest, mid) if store and not explain else None
        if hit:
            out[p] = (hit, None)
            if progress:
                progress(p, "cached")
        else:
            need.append((p, digest))
    digests = dict(need)
    for p, pred, err in classifier.predict_many([p for p, _ in need], jobs=jobs,
                                                progress=progress):
        if err:
            out[p] = (None, err)
            continue
        if store:
            store.put(p, digests[p], mid, pred)
        out[p] = ({"label": pred.label, "score": pred.score, "scores": pred.scores,
                   "neighbours": pred.neighbours}, None)
    return out


def undo(journal) -> list[TagResult]:
    """Restore the old values of every write the journal records, from any folder (files are
    recorded by absolute path).

    - ``done`` writes whose file is still as written are restored;
    - a write whose ``done`` line is missing (the run was killed in between) is restored if
      the file holds the planned new values, reported unchanged if the write never
      happened, skipped if the file changed otherwise;
    - journal lines that are not genrekit entries are reported as errors (nothing is
      guessed from them).
    """
    from ..errors import ParameterError
    from ..fileio import not_a_regular_file

    jr = Journal(journal)
    if why := not_a_regular_file(jr.path):
        raise ParameterError(f"{journal}: {'no such journal file' if 'not found' in why else why}")
    results = []
    state = jr.state()
    for n, why in jr.bad_lines:
        results.append(TagResult(f"{journal}:{n}", "error", reason=f"journal line skipped: {why}"))
    for p, e in reversed(list(state.items())):
        if e.get("status") not in ("done", "planned"):
            continue
        if not os.path.exists(p):
            results.append(TagResult(p, "skipped", e["new"], e["old"], reason="file is gone"))
            continue
        try:
            digest = file_digest(p)
            if e["status"] == "planned":  # killed between the write and its 'done' line
                if digest == e["hash_before"]:
                    results.append(TagResult(p, "unchanged", e["old"], e["old"],
                                             reason="the interrupted write never happened"))
                    continue
                if read_tag(p, e.get("field", "genre")) != e["new"]:
                    results.append(TagResult(p, "skipped", e["new"], e["old"],
                                             reason="file changed since genrekit planned "
                                                    "its write"))
                    continue
            elif digest != e["hash_after"]:
                results.append(TagResult(p, "skipped", e["new"], e["old"],
                                         reason="file changed since genrekit wrote it"))
                continue
            write_tag(p, e["old"], e.get("field", "genre"))
        except (TagError, OSError) as exc:
            results.append(TagResult(p, "error", e["new"], e["old"],
                                     reason=getattr(exc, "reason", None) or str(exc)))
            continue
        jr.append(file=p, status="undone", hash_after_undo=file_digest(p))
        results.append(TagResult(p, "restored", e["new"], e["old"],
                                 reason="" if e["status"] == "done" else
                                 "the write was interrupted before its done line"))
    return results
