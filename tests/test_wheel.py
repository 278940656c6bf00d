"""Packaging: the wheel carries the bundled model and demo clips, and installed without
extras into a fresh virtual environment it predicts, importing neither torch, numba,
scipy, librosa nor matplotlib; a command that needs an extra says which, exit 2.

Builds the wheel with ``python -m build`` and installs its dependencies from the package
index (pip's cache makes a rerun quick): about a minute. The same import check on the
development install (every extra present) is in ``test_predict_imports_no_heavy_library``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import chirp, write

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numba", "scipy", "librosa", "matplotlib", "llvmlite", "sklearn")
# runs `genrekit ARGS...` in this interpreter, then names the heavy modules it imported
PROBE = ("import sys; from genrekit.cli import main; rc = main(sys.argv[1:]); "
         f"print('HEAVY', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})));"
         "sys.exit(rc)")


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # built from a private copy of the sources: setuptools copies package data to build/lib
    # and never removes a file deleted since (a stale build/ once shipped a removed int8
    # graph), and a build in the shared checkout had its build/ pulled away mid-build
    src = tmp_path_factory.mktemp("sdist-tree")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    r = _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
              str(src)])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (whl,) = out.glob("genrekit-*.whl")
    return whl


@pytest.mark.xdist_group("wheel")  # one worker builds the wheel once for both tests
def test_wheel_carries_the_model_and_demo_clips(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for want in ("genrekit/pretrained/default.onnx", "genrekit/pretrained/default.pt",
                 "genrekit/demo/ATTRIBUTION.md", "genrekit/serve/static/index.html"):
        assert want in names, want
    assert sum(n.startswith("genrekit/demo/") and n.endswith(".ogg") for n in names) >= 4
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("genrekit/pretrained/")}
    assert shipped == {p.name for p in (ROOT / "src/genrekit/pretrained").iterdir()
                       if p.is_file()}  # exactly the source tree's, nothing stale


@pytest.mark.xdist_group("wheel")
def test_base_install_predicts_without_heavy_libraries(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    r = _run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
              str(wheel)])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    installed = _run([str(py), "-m", "pip", "list", "--format=freeze"]).stdout.lower()
    assert not any(f"{m}==" in installed for m in ("torch", "numba", "scipy", "librosa",
                                                   "matplotlib")), installed

    clip = tmp_path / "one.ogg"
    write(clip, chirp(seconds=8.0, sr=22050))
    r = _run([str(py), "-c", PROBE, "predict", str(clip), "--format", "json", "--set", "0.9",
              "--explain"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert '"label"' in r.stdout and "HEAVY []" in r.stdout, r.stdout[-2000:]
    # novelty, sets and the neighbours come with the base install (numpy, no torch)
    assert '"novelty": 0.' in r.stdout or '"novelty": 1.0' in r.stdout, r.stdout[-2000:]
    assert '"set": [' in r.stdout and '"neighbours": [' in r.stdout, r.stdout[-2000:]

    clip2 = write(tmp_path / "two.wav", chirp(seconds=6.0, sr=16000))
    r = _run([str(py), "-c", PROBE, "predict", str(clip), clip2, "--jobs", "2", "--format",
              "csv"], cwd=tmp_path)  # worker processes too (they must not need numba)
    assert r.returncode == 0 and "HEAVY []" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count(".ogg") + r.stdout.count(".wav") >= 2, r.stdout

    r = _run([str(env_dir / "bin" / "genrekit"), "demo", "--out", str(tmp_path / "d")])
    assert r.returncode == 0 and (tmp_path / "d" / "predictions.json").exists(), r.stderr
    assert "genrekit[plots]" in r.stdout  # no matplotlib: the PNG is skipped, and says so

    r = _run([str(env_dir / "bin" / "genrekit"), "train", str(tmp_path), "--out", "o"])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "pip install 'genrekit[train]'" in lines[0]


def test_predict_imports_no_heavy_library(tmp_path):
    """In the full development install too, predicting with the bundled model imports none
    of the training libraries (they cost the cold start ~0.4 s)."""
    clip = tmp_path / "one.wav"
    write(clip, chirp(seconds=8.0, sr=22050))
    r = _run([sys.executable, "-c", PROBE, "predict", str(clip), "--jobs", "2"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert "HEAVY []" in r.stdout, r.stdout[-2000:]
