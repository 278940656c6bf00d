import shutil

import numpy as np
from conftest import noise, write

from genrekit.features import FeatureSpec
from genrekit.features.cache import FeatureCache, file_digest


def test_key_is_content_not_path(tmp_path):
    a = write(tmp_path / "a.wav", noise(0.5))
    shutil.copy(a, tmp_path / "renamed.wav")
    assert file_digest(a) == file_digest(tmp_path / "renamed.wav")
    write(tmp_path / "b.wav", noise(0.5, seed=1))
    assert file_digest(a) != file_digest(tmp_path / "b.wav")


def test_spec_change_misses_same_spec_hits(tmp_path):
    c1 = FeatureCache(tmp_path, FeatureSpec(names="mel"))
    c1.put("abcd", np.ones((1, 4, 5), np.float32))
    assert FeatureCache(tmp_path, FeatureSpec(names="mel")).get("abcd") is not None
    assert FeatureCache(tmp_path, FeatureSpec(names="mel", n_mels=64)).get("abcd") is None
    assert FeatureCache(tmp_path, FeatureSpec(names="mel"), dtype="float32").get("abcd") is None


def test_put_is_atomic_and_roundtrips(tmp_path):
    c = FeatureCache(tmp_path, FeatureSpec())
    X = np.random.default_rng(0).standard_normal((3, 8, 9)).astype(np.float32)
    p = c.put("ffee", X)
    assert p.exists() and not list(p.parent.glob(".tmp-*"))
    np.testing.assert_allclose(c.get("ffee"), X, atol=1e-2)
    assert c.get("ffee").dtype == np.float16
    assert c.entries() == [p]


def test_corrupt_entry_is_a_miss_and_removed(tmp_path):
    c = FeatureCache(tmp_path, FeatureSpec())
    p = c.put("beef", np.ones((1, 2, 2)))
    p.write_bytes(b"garbage")
    assert c.get("beef") is None and not p.exists()


def test_clean_partial(tmp_path):
    c = FeatureCache(tmp_path, FeatureSpec())
    p = c.put("0123", np.ones((1, 2, 2)))
    (p.parent / ".tmp-x.part").write_bytes(b"half")
    assert c.clean_partial() == 1 and c.entries() == [p]
