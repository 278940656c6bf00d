"""One rule for every command: exit status 0 all good, 1 some inputs failed, 2 usage or
configuration error (no audio found included); options that cannot apply are refused."""

from __future__ import annotations

import logging

import pytest

from genrekit.cli import main


@pytest.mark.parametrize("command", [["predict"], ["preprocess"], ["tag", "--dry-run"]])
def test_no_audio_found_is_a_usage_error_everywhere(command, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not audio")
    extra = ["--cache-dir", str(tmp_path / "c")] if command == ["preprocess"] else []
    rc = main([*command, str(empty), *extra])
    err = capsys.readouterr().err
    if command[0] == "tag":  # an empty library is nothing to do, not an error
        assert rc == 0
    else:
        assert rc == 2 and "no audio files found" in err


def test_ray_engine_refuses_a_text_format(tmp_path, capsys):
    from conftest import tone, write

    song = write(tmp_path / "a.wav", tone(440, 2.0))
    rc = main(["predict", str(song), "--engine", "ray", "--format", "csv", "--out",
               str(tmp_path / "x.csv")])
    assert rc == 2 and "writes Parquet, not csv" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()  # nothing written under the wrong name


def test_ray_logs_are_quiet_unless_verbose():
    from genrekit.engine.ray import quiet_ray_logs

    quiet_ray_logs()
    assert logging.getLogger("ray").level == logging.ERROR
    assert logging.getLogger("ray.data").level == logging.ERROR
    quiet_ray_logs(verbose=True)
    assert logging.getLogger("ray").level == logging.INFO
    quiet_ray_logs()


def test_train_names_the_architecture_arch_and_keeps_model_as_its_old_spelling(
        toy_catalog, tmp_path, capsys):
    for flag in ("--arch", "--model"):
        rc = main(["train", str(toy_catalog), "--out", str(tmp_path / flag), flag, "resnt18",
                   "--epochs", "1", "--cache-dir", str(tmp_path / "c")])
        assert rc == 1 and "did you mean 'resnet18'" in capsys.readouterr().err
