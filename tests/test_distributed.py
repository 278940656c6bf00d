"""Data-parallel training (torch DDP over gloo, 2 processes under torchrun) equals a
one-process run of the same global batch, and resumes across world sizes."""

import numpy as np
import pytest

from genrekit.checkpoint import load_checkpoint
from genrekit.cli import main
from genrekit.config import load_config
from genrekit.data import load_catalog
from genrekit.training.trainer import train

pytest.importorskip("torch.distributed")
# one xdist worker for every test that starts a cluster (Ray, torchrun): no port races
pytestmark = pytest.mark.xdist_group("clusters")

# group norm: per-sample normalisation (SyncBatchNorm is GPU-only); mixup, label smoothing
# and class weights on, so the global-batch loss normalisation is what is checked.
DDP = ["features.names=[mel]", "features.n_mels=32", "slices.slice_seconds=1.0",
       "slices.slice_hop_seconds=0.5", "model.name=tiny", "model.kwargs.norm=group",
       "train.lr=0.01", "train.batch_size=8", "train.crops_per_song=2", "train.patience=0",
       "train.epochs=2", "train.label_smoothing=0.1", "augment.mixup_alpha=0.4",
       "augment.time_mask=4", "train.device=cpu"]


def sets(extra=()):
    return sum([["--set", s] for s in [*DDP, *extra]], [])


def assert_same_weights(a, b, atol=1e-5):
    wa, wb = load_checkpoint(a)["state_dict"], load_checkpoint(b)["state_dict"]
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_allclose(wa[k].float().numpy(), wb[k].float().numpy(), atol=atol,
                                   err_msg=k)


@pytest.fixture(scope="module")
def single(toy_catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    cfg = load_config(None, DDP + [f"train.cache_dir={out / 'cache'}"])
    return train(cfg, load_catalog(toy_catalog), out / "run"), out


def test_two_processes_equal_one(single, toy_catalog, tmp_path):
    res, base = single
    out = tmp_path / "ddp"
    rc = main(["train", str(toy_catalog), "--out", str(out), "--nproc", "2",
               "--cache-dir", str(base / "cache"), *sets()])
    assert rc == 0
    assert_same_weights(base / "run" / "last.pt", out / "last.pt")
    ddp_hist = load_checkpoint(out / "last.pt")["train_state"]["history"]
    for a, b in zip(res.history, ddp_hist, strict=True):  # the loss summed over shards
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["valid_macro_f1"] == pytest.approx(b["valid_macro_f1"])
    assert not list(out.glob(".tmp-*"))


def test_resume_with_another_world_size(single, toy_catalog, tmp_path, monkeypatch):
    """Epoch 1 in one process, killed; epoch 2 resumed in two: the straight run's weights."""
    from genrekit.training import run as trainer_run

    _, base = single
    real = trainer_run.write_metrics

    def die_after_epoch_1(path, history):
        real(path, history)
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_run, "write_metrics", die_after_epoch_1)
    out = tmp_path / "mixed"
    cfg = load_config(None, DDP + [f"train.cache_dir={base / 'cache'}"])
    with pytest.raises(KeyboardInterrupt):
        train(cfg, load_catalog(toy_catalog), out)
    monkeypatch.setattr(trainer_run, "write_metrics", real)
    assert load_checkpoint(out / "last.pt")["train_state"]["epoch"] == 1
    rc = main(["train", str(toy_catalog), "--out", str(out), "--nproc", "2", "--resume",
               "--cache-dir", str(base / "cache"), *sets()])
    assert rc == 0
    assert load_checkpoint(out / "last.pt")["train_state"]["epoch"] == 2
    assert_same_weights(base / "run" / "last.pt", out / "last.pt")


def test_frozen_probe_refuses_several_processes(toy_catalog, tmp_path, capsys):
    rc = main(["train", str(toy_catalog), "--out", str(tmp_path / "p"), "--nproc", "2",
               "--cache-dir", str(tmp_path / "c"), *sets(["train.freeze_epochs=2"])])
    assert rc == 2 and "run it in one process" in capsys.readouterr().err
