import numpy as np
import pytest
from conftest import toy_genre, write

from genrekit import GenreClassifier
from genrekit.checkpoint import load_checkpoint, save_checkpoint
from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.inference.ensemble import EnsembleClassifier, fit_weights, make_ensemble


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("ens")
    return [write(d / f"{lab}.wav", toy_genre(lab, 300 + i, seconds=3.0))
            for i, lab in enumerate(("tones", "noise", "chirps"))]


def test_ensemble_of_identical_models_equals_the_model(tiny_checkpoint, clips, tmp_path):
    out = tmp_path / "ens.pt"
    assert main(["ensemble", str(tiny_checkpoint), str(tiny_checkpoint), "--out",
                 str(out)]) == 0
    single, ens = GenreClassifier.load(tiny_checkpoint), GenreClassifier.load(out)
    assert ens.classes_ == single.classes_
    for c in clips:
        a, b = single.predict(c), ens.predict(c)
        assert a.label == b.label
        np.testing.assert_allclose(list(a.scores.values()), list(b.scores.values()),
                                   atol=1e-6)
    assert main(["export", str(out), "--out", str(tmp_path / "ens.onnx")]) == 0
    onnx_clf = GenreClassifier.load(tmp_path / "ens.onnx")
    np.testing.assert_allclose(onnx_clf.predict_proba(clips[0]), single.predict_proba(clips[0]),
                               atol=1e-4)
    assert main(["predict", str(clips[0]), "--model", str(out)]) == 0


def test_members_with_other_features_average_song_scores(tiny_checkpoint, clips, tmp_path):
    ck = load_checkpoint(tiny_checkpoint)
    other = {k: v for k, v in ck.items() if k not in ("format", "format_version")}
    other["slices"] = {**ck["slices"], "slice_hop_seconds": 0.25}  # another grid
    save_checkpoint(tmp_path / "other.pt", other)
    ens = make_ensemble([ck, load_checkpoint(tmp_path / "other.pt")], [0.25, 0.75])
    save_checkpoint(tmp_path / "mixed.pt", ens)
    clf = GenreClassifier.load(tmp_path / "mixed.pt")
    assert isinstance(clf, EnsembleClassifier)
    a = GenreClassifier.load(tiny_checkpoint).predict(clips[1])
    b = GenreClassifier.load(tmp_path / "other.pt").predict(clips[1])
    p = clf.predict(clips[1])
    for c in clf.classes_:
        assert p.scores[c] == pytest.approx(0.25 * a.scores[c] + 0.75 * b.scores[c], abs=1e-6)
    assert [r[0] for r in clf.predict_many(clips)] == [str(c) for c in clips]
    with pytest.raises(ParameterError, match="different features or slicing"):
        from genrekit.export import export_onnx

        export_onnx(tmp_path / "mixed.pt", tmp_path / "mixed.onnx")


def test_fit_weights_and_errors(tiny_checkpoint):
    labels = np.array([0, 1, 1, 0])
    good = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    bad = good[:, ::-1]
    w = fit_weights([bad, good], labels)
    assert w[1] >= 0.9
    ck = load_checkpoint(tiny_checkpoint)
    with pytest.raises(ParameterError, match="at least 2"):
        make_ensemble([ck])
    other = {**ck, "classes": ["a", "b", "c"]}
    with pytest.raises(ParameterError, match="different classes"):
        make_ensemble([ck, other])


def test_every_classifier_has_the_one_surface(tiny_checkpoint, clips, tmp_path):
    """Single models, one-grid ensembles and mixed ensembles all offer SongClassifier (what
    the CLI, the server and the Ray engine call), predict_features included."""
    from genrekit.inference.classifier import SongClassifier, load_classifier

    ck = load_checkpoint(tiny_checkpoint)
    other = {k: v for k, v in ck.items() if k not in ("format", "format_version")}
    other["slices"] = {**ck["slices"], "slice_hop_seconds": 0.25}
    save_checkpoint(tmp_path / "other.pt", other)
    save_checkpoint(tmp_path / "mixed.pt", make_ensemble([ck, other]))
    save_checkpoint(tmp_path / "same.pt", make_ensemble([ck, ck], [0.5, 0.5]))
    for path in (tiny_checkpoint, tmp_path / "same.pt", tmp_path / "mixed.pt"):
        clf = load_classifier(path, max_duration=30.0)
        assert isinstance(clf, SongClassifier) and clf.max_duration == 30.0
        X = clf.features(clips[0])
        (p,) = clf.predict_features([(str(clips[0]), X)])
        assert p.label == clf.predict(clips[0]).label and p.path == str(clips[0])
