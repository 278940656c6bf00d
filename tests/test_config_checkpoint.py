import pytest
import torch

from genrekit.checkpoint import build_model, load_checkpoint, save_checkpoint
from genrekit.config import Config, load_config
from genrekit.errors import CheckpointError, ConfigError, ParameterError


def test_config_yaml_and_dotted_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text("model:\n  name: crnn\ntrain:\n  lr: 0.01\n")
    cfg = load_config(tmp_path / "c.yaml", ["train.lr=3e-4", "features.names=[mel]",
                                             "model.kwargs.hidden=32"])
    assert cfg.model.name == "crnn" and cfg.train.lr == 3e-4
    assert cfg.features.names == ("mel",) and cfg.model.kwargs == {"hidden": 32}
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'train.lrr'; did you mean 'lr'"):
        load_config(None, ["train.lrr=1"])
    with pytest.raises(ConfigError, match="must look like section.key=value"):
        load_config(None, ["train.lr"])
    with pytest.raises(ConfigError, match="config not found"):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not a readable YAML file"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(ParameterError, match="train.schedule"):
        load_config(None, ["train.schedule=linear"])


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"junk.pt: not a readable genrekit checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="foreign.pt: not a genrekit checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    save_checkpoint(tmp_path / "part.pt", {"model": {"name": "tiny"}})
    with pytest.raises(CheckpointError, match="incomplete checkpoint, missing classes"):
        load_checkpoint(tmp_path / "part.pt")
    save_checkpoint(tmp_path / "future.pt", {"format_version": 99})
    with pytest.raises(CheckpointError, match="newer than this genrekit reads"):
        load_checkpoint(tmp_path / "future.pt")
    ck = {"model": {"name": "tiny", "kwargs": {}}, "classes": ["a", "b"],
          "features": {"names": ["mel"]}, "slices": {}, "normalization": {},
          "state_dict": {"nope": torch.zeros(1)}}
    save_checkpoint(tmp_path / "mismatch.pt", ck)
    with pytest.raises(CheckpointError, match="weights do not fit the model"):
        build_model(load_checkpoint(tmp_path / "mismatch.pt"), tmp_path / "mismatch.pt")
