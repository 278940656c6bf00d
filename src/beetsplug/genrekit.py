"""beets plugin: ``beet genrekit [QUERY]`` and an import hook that predict each item's genre
with genrekit and store it in flexible fields ``genrekit_genre`` (``unknown`` when the
model does not recognise the song as one of its genres), ``genrekit_closest``,
``genrekit_score`` and ``genrekit_novelty``; with ``write_genre`` also beets' multi-valued
``genres`` field (never for an unknown or unsure song).

Config (``genrekit:`` section of beets' config.yaml), the same names as ``genrekit tag``::

    genrekit:
        model: null            # a .pt/.onnx checkpoint; null: genrekit's bundled model
        min_confidence: 0.5    # below this the song is "unknown": only the flexible fields
        novelty_threshold: null  # more unusual than this share of the model's held-out
                               # songs: "unknown" (null: the model's own, 0.95)
        write_genre: no        # also set the genres field
        force: no              # with write_genre: replace existing genres
        keep_existing: no      # with write_genre: add to existing genres
        max_genres: 1          # the top genre, then others scoring >= min_score
        min_score: 0.2
        source: track          # track, album or artist (tracks' probabilities combined)
        per_track_exceptions: no
        genre_map: null        # YAML label: Name (hiphop: Hip-Hop)
        canonical: null        # lastgenre's genres-tree.yaml shape: genre -> its parent
        prefer_specific: no
        whitelist: null        # names allowed, one a line
        title_case: no
        separator: null        # one character: one joined value instead of several
        auto: yes              # predict on import
        pretend: no            # show what would change, store nothing (alias: dry_run)

Install: ``pip install 'genrekit[beets]'`` and add ``genrekit`` to ``plugins:``.
"""

from __future__ import annotations

from beets.plugins import BeetsPlugin
from beets.ui import Subcommand, UserError

DEFAULTS = {"model": None, "min_confidence": 0.5, "novelty_threshold": None,
            "write_genre": False, "overwrite": False, "force": False, "keep_existing": False,
            "max_genres": 1, "min_score": 0.2, "source": "track",
            "per_track_exceptions": False, "genre_map": None, "canonical": None,
            "prefer_specific": False, "whitelist": None, "title_case": False,
            "separator": None, "auto": True, "dry_run": False, "pretend": False}


class GenrekitPlugin(BeetsPlugin):
    def __init__(self, name="genrekit"):
        super().__init__(name)
        self.config.add(DEFAULTS)
        self._classifier = None
        if self.config["auto"].get(bool):
            self.register_listener("import_task_files", self._on_import)

    # --- the model, loaded once --------------------------------------------------------
    def classifier(self):
        if self._classifier is None:
            from genrekit import GenreClassifier

            model = self.config["model"].get()
            # the plugin judges confidence itself (per command), novelty with the model
            kw = {"novelty_threshold": self.config["novelty_threshold"].get(),
                  "min_confidence": 0.0}
            self._classifier = (GenreClassifier.load(model, **kw) if model else
                                GenreClassifier.from_pretrained(**kw))
        return self._classifier

    # --- command -------------------------------------------------------------------------
    def commands(self):
        cmd = Subcommand("genrekit", help="predict genres with genrekit")
        cmd.parser.add_option("-p", "--pretend", "-n", "--dry-run", dest="pretend",
                              action="store_true", default=None,
                              help="show what would change, store nothing")
        cmd.parser.add_option("--min-confidence", type=float, default=None)
        cmd.parser.add_option("--write-genre", action="store_true", default=None,
                              help="also set the genres field when confident")
        cmd.parser.add_option("--force", action="store_true", default=None)
        cmd.parser.add_option("--keep-existing", action="store_true", default=None)
        cmd.parser.add_option("--max-genres", type=int, default=None)
        cmd.parser.add_option("--source", choices=["track", "album", "artist"], default=None)
        cmd.func = self._command
        return [cmd]

    def _command(self, lib, opts, args):
        self._run(list(lib.items(args)), self._settings(opts))

    def _on_import(self, session, task):
        self._run(list(task.imported_items()), self._settings(None))

    def _settings(self, opts):
        def pick(opt, key, kind):
            v = getattr(opts, opt, None) if opts is not None else None
            return self.config[key].get(kind) if v is None else v

        from genrekit.errors import GenrekitError
        from genrekit.library.choose import plan_from_options

        c = self.config
        force = pick("force", "force", bool) or c["overwrite"].get(bool)
        keep = pick("keep_existing", "keep_existing", bool)
        if force and keep:
            raise UserError("genrekit: force and keep_existing exclude each other")
        try:
            plan = plan_from_options(
                max_genres=pick("max_genres", "max_genres", int),
                min_score=c["min_score"].get(float), separator=c["separator"].get(),
                source=pick("source", "source", str),
                per_track_exceptions=c["per_track_exceptions"].get(bool),
                genre_map=c["genre_map"].get(), canonical=c["canonical"].get(),
                whitelist=c["whitelist"].get(), prefer_specific=c["prefer_specific"].get(bool),
                title_case=c["title_case"].get(bool))
        except GenrekitError as exc:  # a bad map, tree or option: one line, nothing done
            raise UserError(f"genrekit: {exc}") from None
        return {"pretend": pick("pretend", "pretend", bool) or c["dry_run"].get(bool),
                "min_confidence": pick("min_confidence", "min_confidence", float),
                "write_genre": pick("write_genre", "write_genre", bool),
                "mode": "overwrite" if force else "append" if keep else "fill", "plan": plan}

    def _run(self, items, settings):
        from genrekit.errors import GenrekitError
        from genrekit.library.choose import genres_for, group_scores
        from genrekit.library.tagger import new_values

        preds = {}
        for item in items:
            path = item.path.decode() if isinstance(item.path, bytes) else str(item.path)
            try:
                preds[path] = (item, self.classifier().predict(path))
            except GenrekitError as exc:
                self._log.warning("genrekit: {}: {}", path, exc)
        sure = {p: {"scores": pr.scores} for p, (_, pr) in preds.items()
                if not pr.unknown and pr.score >= settings["min_confidence"]}
        scores_of, groups = group_scores(sure, settings["plan"])
        for g in groups:
            if g["disagree"]:
                self._log.info("genrekit: {}: {} for {} tracks; {} disagree", g["key"],
                               g["genre"], g["tracks"], len(g["disagree"]))
        for path, (item, pred) in preds.items():
            values = genres_for(scores_of[path], settings["plan"]) if path in sure else []
            label = values[0] if values else "unknown"
            new = (new_values(list(item.get("genres") or []), values, settings["mode"])
                   if values and settings["write_genre"] else None)
            self._log.info("genrekit: {} -> {} ({} {:.2f}{}){}{}", path, label, pred.closest,
                           pred.score, "" if pred.novelty is None else
                           f", novelty {pred.novelty:.2f}",
                           f" genres {new}" if new is not None else "",
                           " [pretend]" if settings["pretend"] else "")
            if settings["pretend"]:
                continue
            item["genrekit_genre"] = label
            item["genrekit_closest"] = pred.closest
            item["genrekit_score"] = round(float(pred.score), 4)
            if pred.novelty is not None:
                item["genrekit_novelty"] = round(float(pred.novelty), 4)
            if new is not None:
                item.genres = new
            item.store()
