import json

import numpy as np
import pytest
import torch

from genrekit.checkpoint import load_checkpoint
from genrekit.cli import main
from genrekit.config import load_config
from genrekit.data import load_catalog
from genrekit.training.trainer import train

TOY = ["features.names=[mel]", "features.n_mels=32", "slices.slice_seconds=1.0",
       "slices.slice_hop_seconds=0.5", "model.name=tiny", "train.lr=0.005",
       "train.batch_size=16", "train.patience=0"]


@pytest.fixture(scope="module")
def trained(toy_catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cache = tmp_path_factory.mktemp("cache")
    rc = main(["train", str(toy_catalog), "--out", str(out), "--epochs", "8",
               "--cache-dir", str(cache), *sum([["--set", s] for s in TOY], [])])
    assert rc == 0
    return out, cache


def test_train_checkpoint_evaluate(trained, toy_catalog, tmp_path, capsys):
    out, cache = trained
    for f in ("best.pt", "last.pt", "metrics.csv", "curves.png", "config.yaml"):
        assert (out / f).exists(), f
    raw = torch.load(out / "best.pt", weights_only=True)  # plain data
    assert raw["classes"] == ["chirps", "noise", "tones"] and raw["model"]["name"] == "tiny"
    assert raw["features"]["n_mels"] == 32 and raw["normalization"]["mean"].shape == (1,)
    assert "genrekit_version" in raw and raw["format_version"] == 1
    rc = main(["evaluate", str(out / "best.pt"), str(toy_catalog), "--split",
               str(toy_catalog / "splits" / "valid.txt"), "--cache-dir", str(cache),
               "--out", str(tmp_path / "ev")])
    assert rc == 0
    rep = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert rep["n"] == 12 and rep["accuracy"] >= 0.9, rep["accuracy"]
    assert set(rep["per_class"]) == {"chirps", "noise", "tones"}
    assert 0 <= rep["slice_accuracy"] <= 1
    assert (tmp_path / "ev" / "confusion.png").stat().st_size > 5000
    assert "per-song accuracy" in capsys.readouterr().out
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss,valid_accuracy,valid_macro_f1") and len(lines) == 9


def test_resume_after_kill_matches_uninterrupted(toy_catalog, tmp_path, trained, monkeypatch):
    """Stop a 3-epoch run after epoch 2 (as a kill would), resume: same weights as straight."""
    from genrekit.training import run as trainer_run

    _, cache = trained
    cat = load_catalog(toy_catalog)
    cfg = load_config(None, TOY + ["train.epochs=3", f"train.cache_dir={cache}"])
    straight = train(cfg, cat, tmp_path / "straight")

    real_save = trainer_run.write_metrics
    calls = {"n": 0}

    def die_after_epoch_2(path, history):
        real_save(path, history)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # simulated kill right after epoch 2 was saved

    monkeypatch.setattr(trainer_run, "write_metrics", die_after_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, cat, tmp_path / "killed")
    monkeypatch.setattr(trainer_run, "write_metrics", real_save)
    assert not list((tmp_path / "killed").glob(".tmp-*"))
    resumed = train(cfg, cat, tmp_path / "killed", resume=True)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    for a, b in zip(straight.history, resumed.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
    wa = load_checkpoint(tmp_path / "straight" / "last.pt")["state_dict"]
    wb = load_checkpoint(tmp_path / "killed" / "last.pt")["state_dict"]
    for k in wa:
        np.testing.assert_allclose(wa[k].numpy(), wb[k].numpy(), atol=1e-6)


def test_train_cli_errors(toy_catalog, tmp_path, capsys):
    assert main(["train", str(toy_catalog), "--out", str(tmp_path / "r"), "--model", "resnt18",
                 "--cache-dir", str(tmp_path / "c")]) == 1
    assert "did you mean 'resnet18'" in capsys.readouterr().err
    assert main(["train", str(toy_catalog), "--out", str(tmp_path / "r"),
                 "--set", "train.lrr=1"]) == 2
    assert main(["evaluate", str(tmp_path / "none.pt"), str(toy_catalog)]) == 1
    assert "checkpoint not found" in capsys.readouterr().err


def test_sigkill_during_training_then_resume(toy_catalog, tmp_path, trained):
    import signal
    import subprocess
    import sys
    import time

    _, cache = trained
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "genrekit.cli", "train", str(toy_catalog), "--out", str(out),
           "--epochs", "6", "--cache-dir", str(cache), *sum([["--set", s] for s in TOY], [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = out / "metrics.csv"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:  # 2 epochs done
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = load_checkpoint(out / "last.pt")["train_state"]["epoch"]  # loads: never half-written
    assert 2 <= done < 6
    assert main(["train", str(toy_catalog), "--out", str(out), "--resume", "--epochs", "6",
                 "--cache-dir", str(cache), *sum([["--set", s] for s in TOY], [])]) == 0
    epochs = [int(r.split(",")[0]) for r in metrics.read_text().splitlines()[1:]]
    assert epochs == [1, 2, 3, 4, 5, 6]
    assert not list(out.glob(".tmp-*"))
