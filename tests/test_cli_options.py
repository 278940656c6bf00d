"""Every numeric option of every command is checked by one typed helper
(``commands.common.in_range``): the parser walk below finds them all, and feeds each an
out-of-range value; each must be refused in one line with exit 2, before any work."""

from __future__ import annotations

import argparse

import pytest

from genrekit.cli import COMMANDS, build_parser, main


def numeric_options():
    out = []
    for name in COMMANDS:
        sub = next(a for a in build_parser(name)._actions
                   if isinstance(a, argparse._SubParsersAction)).choices[name]
        for act in sub._actions:
            if not act.option_strings or act.type is None:
                continue
            out.append((name, act))
    return out


def test_no_numeric_option_takes_a_plain_int_or_float():
    plain = [f"{cmd} {act.option_strings[0]}" for cmd, act in numeric_options()
             if act.type in (int, float)]
    assert not plain, f"use commands.common.in_range for {plain}"


def bad_values(bounds):
    kind, lo, hi, lo_open, hi_open = bounds
    vals = []
    if lo is not None:
        vals.append(lo if lo_open else lo - 1)
    if hi is not None:
        vals.append(hi if hi_open else hi + 1)
    if kind is float:
        vals.append(float("nan"))
    return [str(kind(v)) if v == v else "nan" for v in vals]


CASES = [(cmd, act.option_strings[0], v) for cmd, act in numeric_options()
         if hasattr(act.type, "bounds") for v in bad_values(act.type.bounds)]


def test_the_walk_finds_the_options():
    names = {(c, o) for c, o, _ in CASES}
    assert ("predict", "--novelty-threshold") in names and ("train", "--epochs") in names
    assert ("predict", "--tta") in names and ("serve", "--port") in names
    assert len(names) >= 25


@pytest.mark.parametrize("cmd,opt,value", CASES)
def test_out_of_range_value_is_a_one_line_usage_error(cmd, opt, value, capsys, tmp_path):
    # positionals that parse (nothing runs: the option is refused while parsing)
    positional = {"predict": [str(tmp_path)], "features": ["x.wav"],
                  "preprocess": [str(tmp_path)], "train": [str(tmp_path)],
                  "finetune": ["default", str(tmp_path), "--out", str(tmp_path / "o")],
                  "evaluate": ["m.pt", str(tmp_path)], "export": ["m.pt", "--out", "o.onnx"],
                  "calibrate": ["m.pt", str(tmp_path), "--out", "c.pt"],
                  "ensemble": ["a.pt", "--out", "e.pt"], "tag": [str(tmp_path)]}
    assert main([cmd, *positional.get(cmd, []), opt, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and opt in err[0] and "must be in" in err[0], err
