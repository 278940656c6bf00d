import json

import numpy as np
import pytest
from conftest import clicks, noise, split_catalog_folder, tone

from genrekit.checkpoint import load_checkpoint
from genrekit.cli import main

TOY = ["features.names=[mel]", "features.n_mels=32", "slices.slice_seconds=1.0",
       "slices.slice_hop_seconds=0.5", "model.name=tiny", "train.lr=0.005",
       "train.batch_size=16", "train.patience=0"]


def other_genre(label, i, seconds=3.0):
    rng = np.random.default_rng(500 + i)
    if label == "bass":
        y = tone(rng.uniform(60, 160), seconds, amp=0.4)
    elif label == "treble":
        y = tone(rng.uniform(2500, 5000), seconds, amp=0.3)
    else:
        y = clicks(seconds, every=rng.uniform(0.1, 0.3), amp=0.8)
    return (y + noise(seconds, amp=0.01, seed=i)).astype(np.float32)


@pytest.fixture(scope="module")
def new_catalog(tmp_path_factory):
    return split_catalog_folder(tmp_path_factory.mktemp("new"), ("bass", "treble", "clickers"),
                                lambda label, i: other_genre(label, i + 20 * len(label)),
                                n_train=6, n_valid=3)


@pytest.fixture(scope="module")
def pretrained(toy_catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre")
    assert main(["train", str(toy_catalog), "--out", str(out), "--epochs", "6", "--cache-dir",
                 str(out / "cache"), *sum([["--set", s] for s in TOY], [])]) == 0
    return out / "best.pt"


def test_finetune_to_new_labels(pretrained, new_catalog, tmp_path):
    out = tmp_path / "ft"
    assert main(["finetune", str(pretrained), str(new_catalog), "--out", str(out), "--epochs",
                 "6", "--freeze-epochs", "2", "--lr", "0.005", "--cache-dir",
                 str(tmp_path / "cache")]) == 0
    ck = load_checkpoint(out / "best.pt")
    assert ck["classes"] == ["bass", "clickers", "treble"]
    old = load_checkpoint(pretrained)
    assert ck["features"] == old["features"]  # same inputs as the backbone
    np.testing.assert_allclose(ck["normalization"]["mean"], old["normalization"]["mean"])
    assert main(["evaluate", str(out / "best.pt"), str(new_catalog), "--subset", "valid",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "ev")]) == 0
    rep = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert rep["accuracy"] >= 0.9, rep["accuracy"]


def test_frozen_epochs_train_only_the_head(pretrained, new_catalog, tmp_path):
    """Frozen for the whole run: the linear-probe path (embeddings computed once)."""
    out = tmp_path / "frozen"
    assert main(["finetune", str(pretrained), str(new_catalog), "--out", str(out), "--epochs",
                 "1", "--freeze-epochs", "1", "--cache-dir", str(tmp_path / "cache")]) == 0
    old = load_checkpoint(pretrained)["state_dict"]
    new = load_checkpoint(out / "last.pt")["state_dict"]
    assert_backbone_equal(new, old)


def assert_backbone_equal(new, old):
    for k, v in new.items():
        if k.startswith("head."):
            continue
        np.testing.assert_array_equal(v.float().numpy(), old[k].float().numpy(), err_msg=k)


def test_frozen_epoch_of_the_full_loop_trains_only_the_head():
    """The full training loop's frozen epochs (before unfreezing): BatchNorm statistics too."""
    import torch

    from genrekit.config import TrainConfig
    from genrekit.models import create_model
    from genrekit.training.loop import train_epoch
    from genrekit.training.songs import SongSet

    torch.manual_seed(0)
    model = create_model("tiny", 3, 1)
    old = {k: v.clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    songs = SongSet([rng.normal(size=(1, 32, 60)).astype(np.float16) for _ in range(6)],
                    np.array([0, 1, 2, 0, 1, 2]), [f"s{i}" for i in range(6)])
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    train_epoch(model, opt, None, songs, width=20, mean=torch.zeros(1), std=torch.ones(1),
                cfg=TrainConfig(batch_size=4), epoch=1, device=torch.device("cpu"),
                loss_weight=None, freeze_backbone=True)
    new = model.state_dict()
    assert_backbone_equal(new, old)
    assert any(not torch.equal(new[k], old[k]) for k in new if k.startswith("head."))


def test_finetune_from_the_bundled_model_runs(new_catalog, tmp_path):
    out = tmp_path / "from-default"
    assert main(["finetune", "default", str(new_catalog), "--out", str(out), "--epochs", "2",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    ck = load_checkpoint(out / "best.pt")
    assert ck["classes"] == ["bass", "clickers", "treble"] and ck["model"]["name"] == "musicnn"
    assert ck["config"]["train"]["freeze_epochs"] >= 1  # the default: a linear probe
    # the new taxonomy gets its own novelty model and conformal calibration
    from genrekit.inference.open_set import OpenSet

    os_ = OpenSet.from_dict(ck["open_set"])
    assert os_.num_classes == 3 and len(os_.reference) >= 4 and 0 < os_.novelty_threshold <= 1


def test_same_labels_keep_the_trained_head(pretrained, toy_catalog, tmp_path):
    """Continuing on the label set it was trained on starts from its head, not a new one."""
    old = load_checkpoint(pretrained)
    assert main(["finetune", str(pretrained), str(toy_catalog), "--out", str(tmp_path / "c"),
                 "--epochs", "1", "--lr", "1e-12", "--cache-dir", str(tmp_path / "cache")]) == 0
    new = load_checkpoint(tmp_path / "c" / "last.pt")["state_dict"]
    for k in (k for k in new if k.startswith("head.")):
        np.testing.assert_allclose(new[k].float().numpy(), old["state_dict"][k].float().numpy(),
                                   atol=1e-6, err_msg=k)
