"""beets plugin: ``beet genrekit [QUERY]`` and an import hook that predict each item's genre
with genrekit and store it in flexible fields ``genrekit_genre`` and ``genrekit_score``
(and, if configured, in ``genres`` when confident). A song the model does not recognise as
one of its genres gets ``genrekit_genre: unknown`` (its closest genre in
``genrekit_closest``) and never a ``genres`` value.

Config (``genrekit:`` section of beets' config.yaml)::

    genrekit:
        model: null            # a .pt/.onnx checkpoint; null: genrekit's bundled model
        min_confidence: 0.5    # below this the song is "unknown": only the flexible fields
        novelty_threshold: null  # more unusual than this share of the model's held-out
                               # songs: "unknown" (null: the model's own, 0.95)
        write_genre: no        # also set the genres field (fill empty ones only)
        overwrite: no          # with write_genre: replace existing genres too
        auto: yes              # predict on import
        dry_run: no            # show what would change, store nothing

Install: ``pip install 'genrekit[beets]'`` and add ``genrekit`` to ``plugins:``.
"""

from __future__ import annotations

from beets.plugins import BeetsPlugin
from beets.ui import Subcommand


class GenrekitPlugin(BeetsPlugin):
    def __init__(self, name="genrekit"):
        super().__init__(name)
        self.config.add({"model": None, "min_confidence": 0.5, "novelty_threshold": None,
                         "write_genre": False,
                         "overwrite": False, "auto": True, "dry_run": False})
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
        cmd.parser.add_option("-n", "--dry-run", action="store_true", default=None,
                              help="show what would change, store nothing")
        cmd.parser.add_option("--min-confidence", type=float, default=None)
        cmd.parser.add_option("--write-genre", action="store_true", default=None,
                              help="also set the genres field when confident")
        cmd.func = self._command
        return [cmd]

    def _command(self, lib, opts, args):
        settings = self._settings(opts)
        for item in lib.items(args):
            self._predict_item(item, **settings)

    def _on_import(self, session, task):
        settings = self._settings(None)
        for item in task.imported_items():
            self._predict_item(item, **settings)

    def _settings(self, opts):
        def pick(opt, key, kind):
            v = getattr(opts, opt, None) if opts is not None else None
            return self.config[key].get(kind) if v is None else v

        return {"dry_run": pick("dry_run", "dry_run", bool),
                "min_confidence": pick("min_confidence", "min_confidence", float),
                "write_genre": pick("write_genre", "write_genre", bool),
                "overwrite": self.config["overwrite"].get(bool)}

    def _predict_item(self, item, *, dry_run, min_confidence, write_genre, overwrite):
        from genrekit.errors import GenrekitError

        path = item.path.decode() if isinstance(item.path, bytes) else str(item.path)
        try:
            pred = self.classifier().predict(path)
        except GenrekitError as exc:
            self._log.warning("genrekit: {}: {}", path, exc)
            return
        confident = pred.score >= min_confidence and not pred.unknown
        label = pred.label if confident else "unknown"
        set_genre = write_genre and confident and (overwrite or not item.get("genres"))
        self._log.info("genrekit: {} -> {} ({} {:.2f}{}){}", path, label, pred.closest,
                       pred.score, "" if pred.novelty is None else
                       f", novelty {pred.novelty:.2f}", " [dry run]" if dry_run else "")
        if dry_run:
            return
        item["genrekit_genre"] = label
        item["genrekit_closest"] = pred.closest
        item["genrekit_score"] = round(float(pred.score), 4)
        if pred.novelty is not None:
            item["genrekit_novelty"] = round(float(pred.novelty), 4)
        if set_genre:
            item.genres = [pred.label]
        item.store()
