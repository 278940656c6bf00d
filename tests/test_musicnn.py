"""The torch port of musicnn against outputs recorded from the TensorFlow original
(tools/convert_musicnn.py), and the frozen-backbone (linear probe) training path."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import split_catalog_folder, toy_genre

from genrekit.checkpoint import load_checkpoint
from genrekit.config import load_config
from genrekit.data import load_catalog
from genrekit.errors import ParameterError
from genrekit.features import FeatureSpec, compute_features
from genrekit.models import create_model
from genrekit.models.musicnn import load_weights, tag_names
from genrekit.training.trainer import train

pytestmark = pytest.mark.numeric  # float parity: rerun under another BLAS/oneDNN kernel

REFS = {name: np.load(Path(__file__).parent / "data" / f"musicnn_{name}_reference.npz")
        for name in ("msd", "mtt")}
SPEC = FeatureSpec(names=("mel_logc",), sr=16000, n_fft=512, hop_length=256, n_mels=96)


@pytest.fixture(scope="module")
def net():
    return create_model("musicnn", 4, 1, keep_tagger=True).eval()


@pytest.fixture(scope="module", params=["msd", "mtt"])
def pretrained(request):
    """Each shipped network (MSD_musicnn, MTT_musicnn) with its recorded TF outputs."""
    net = create_model("musicnn", 4, 1, pretrained=request.param, keep_tagger=True).eval()
    return request.param, net, REFS[request.param]


def as_input(patches):  # the original's [B, T, 96] -> genrekit's [B, 1, 96, T]
    return torch.from_numpy(np.ascontiguousarray(patches)).transpose(1, 2)[:, None]


def test_tag_probabilities_and_features_match_the_original(pretrained):
    name, net, ref = pretrained
    with torch.no_grad():
        out = net.embeddings(as_input(ref["input"]))
    np.testing.assert_allclose(torch.sigmoid(out["tags"]).numpy(), ref["tag_probs"], atol=1e-5)
    for key in ("max_pool", "mean_pool", "penultimate"):
        scale = np.abs(ref[key]).max()
        np.testing.assert_allclose(out[key].numpy() / scale, ref[key] / scale, atol=1e-5)
    first = {"msd": "rock", "mtt": "guitar"}[name]
    assert len(tag_names(name)) == 50 and tag_names(name)[0] == first


@pytest.mark.parametrize("backend", ["fast", "numpy", "reference", "torch"])
def test_end_to_end_from_audio_matches_musicnns_extractor(pretrained, backend):
    """Our mel_logc of the recorded 16-bit clip is musicnn's input (up to its float16
    rounding), and the tags from it are the original's."""
    _, net, ref = pretrained
    y = ref["clip"].astype(np.float32) / 32768
    X = compute_features(y, 16000, SPEC, backend=backend)
    patch = X[:, :, :187]
    np.testing.assert_allclose(patch[0].T, ref["input"][1], atol=2e-3)
    with torch.no_grad():
        probs = net.forward_tags(torch.from_numpy(patch[None]))
    np.testing.assert_allclose(probs.numpy()[0], ref["tag_probs"][1], atol=1e-4)


def test_weights_and_input_errors(net):
    w = load_weights("msd")
    assert not any(k.startswith("head.") for k in w)
    with pytest.raises(ParameterError, match="no pretrained musicnn weights 'xyz'"):
        create_model("musicnn", 3, 1, pretrained="xyz")
    with pytest.raises(ParameterError, match="unknown musicnn embedding"):
        create_model("musicnn", 3, 1, embedding="nope")
    with pytest.raises(ParameterError, match=r"needs \[B, 1, 96, T\]"):
        net(torch.zeros(1, 1, 128, 100))
    for emb, dim in (("pool", 1506), ("max_pool", 753), ("penultimate", 200)):
        m = create_model("musicnn", 3, 1, embedding=emb, pretrained=None).eval()
        assert m.forward_features(torch.zeros(2, 1, 96, 50)).shape == (2, dim)


@pytest.fixture(scope="module")
def toy16k(tmp_path_factory):
    return split_catalog_folder(tmp_path_factory.mktemp("toy16"), ("tones", "noise", "chirps"),
                                lambda label, i: toy_genre(label, i + 7 * len(label), 3.5),
                                n_train=5, n_valid=3)


def musicnn_cfg(tmp_path, *extra):
    return load_config(Path(__file__).parents[1] / "configs" / "musicnn.yaml",
                       ["train.epochs=6", "train.freeze_epochs=6", "train.patience=0",
                        "train.batch_size=8", "train.lr=0.01", "train.device=cpu",
                        f"train.cache_dir={tmp_path / 'cache'}", *extra])


def test_frozen_backbone_trains_only_the_head_on_raw_features(toy16k, tmp_path):
    res = train(musicnn_cfg(tmp_path), load_catalog(toy16k), tmp_path / "run")
    ck = load_checkpoint(res.best_path)
    pretrained = load_weights("msd")
    backbone = [k for k in ck["state_dict"] if not k.startswith("head.")
                and not k.endswith("num_batches_tracked")]
    assert len(backbone) > 40
    for k in backbone:  # every backbone tensor, BatchNorm statistics included
        torch.testing.assert_close(ck["state_dict"][k].float(), pretrained[k], msg=k)
    assert np.allclose(ck["normalization"]["mean"], 0) and np.allclose(
        ck["normalization"]["std"], 1)  # musicnn normalises its own input
    assert res.best["valid_accuracy"] >= 0.9  # three toy genres are easy from musicnn features


def test_probe_refuses_input_augmentation_and_wrong_features(toy16k, tmp_path):
    cat = load_catalog(toy16k)
    with pytest.raises(ParameterError, match="augment.freq_mask cannot apply"):
        train(musicnn_cfg(tmp_path, "augment.freq_mask=8"), cat, tmp_path / "a")
    with pytest.raises(ParameterError, match="pretrained on other features.*n_mels=96"):
        train(musicnn_cfg(tmp_path, "features.n_mels=64"), cat, tmp_path / "b")


@pytest.mark.parametrize("name", ["msd", "mtt"])
def test_vgg_tag_probabilities_and_features_match_the_original(name):
    ref = np.load(Path(__file__).parent / "data" / f"musicnn_vgg_{name}_reference.npz")
    net = create_model("musicnn_vgg", 4, 1, pretrained=name, keep_tagger=True).eval()
    with torch.no_grad():
        x = as_input(ref["input"])
        probs, pool5 = net.forward_tags(x), net.pool5(x)
    np.testing.assert_allclose(probs.numpy(), ref["tag_probs"], atol=1e-5)
    scale = np.abs(ref["pool5"]).max()
    np.testing.assert_allclose(pool5.numpy() / scale, ref["pool5"] / scale, atol=1e-5)
    y = ref["clip"].astype(np.float32) / 32768  # end to end from audio, our features
    X = compute_features(y, 16000, SPEC)
    with torch.no_grad():
        p = net.forward_tags(torch.from_numpy(X[None, :, :, :187]))
    np.testing.assert_allclose(p.numpy()[0], ref["tag_probs"][1], atol=1e-4)


def test_eval_front_end_matches_the_literal_order(pretrained):
    """Eval mode takes the frequency maximum before ReLU and BatchNorm (sign-flipped
    filters where the BN scale is negative) and fills the dead filters' channels with their
    biases: the original's numbers (the max and the sign flip exactly; a dead filter's
    weights, <= 2.2e-7, move the features by < 1e-8 of their scale)."""
    from genrekit.models import musicnn as M

    _, net, ref = pretrained
    x = as_input(ref["input"])
    with torch.no_grad():
        fast, fast_emb = net._midend(x), net.embeddings(x)["penultimate"]
        literal = M._freq_max
        try:
            M._freq_max = lambda block, z: block(z).amax(dim=3)
            want, want_emb = net._midend(x), net.embeddings(x)["penultimate"]
        finally:
            M._freq_max = literal
    assert any((b.bn.weight < 0).any() for b in net.timbral)  # the sign flip is exercised
    live, dead = M._live_filters(net.timbral[0].conv.weight)
    assert len(dead) > 50 and len(live) >= 10  # and the dead filters
    assert (fast - want).abs().max() <= 1e-7 * want.abs().max()
    torch.testing.assert_close(fast_emb, want_emb, atol=1e-6, rtol=0)
