import json
import subprocess
import sys

import numpy as np
from conftest import chirp, write

from genrekit.cli import main


def test_features_png_and_npz(tmp_path, capsys):
    path = write(tmp_path / "c.ogg", chirp(100, 3000, 2.0))
    rc = main(["features", path, "--features", "mel,hpss", "--png", str(tmp_path / "f.png"),
               "--out", str(tmp_path / "f.npz")])
    assert rc == 0
    assert (tmp_path / "f.png").stat().st_size > 10_000
    z = np.load(tmp_path / "f.npz")
    assert z["features"].shape[:2] == (3, 128)
    assert list(z["channels"]) == ["mel_db", "harmonic_mel_db", "percussive_mel_db"]
    assert json.loads(str(z["spec"]))["names"] == ["mel", "hpss"]
    assert "features [3, 128," in capsys.readouterr().out


def test_features_grayscale(tmp_path):
    import matplotlib.image as mpimg

    path = write(tmp_path / "c.wav", chirp(100, 3000, 2.0))
    assert main(["features", path, "--features", "mel", "--png", str(tmp_path / "g.png"),
                 "--png-mode", "grayscale"]) == 0
    img = mpimg.imread(tmp_path / "g.png")
    assert img.shape[0] == 128 and img.shape[1] == 1 + 2 * 22050 // 512


def test_features_errors(tmp_path, capsys):
    assert main(["features", str(tmp_path / "missing.mp3")]) == 1
    assert "missing.mp3: file not found" in capsys.readouterr().err
    assert main(["features", "x.wav", "--features", "mel,mfcc"]) == 2
    assert "cannot stack features of different heights" in capsys.readouterr().err
    assert main(["nonsense"]) == 2


def test_help_is_fast_and_imports_no_heavy_libraries():
    code = ("import sys; from genrekit.cli import main; "
            "rc = main(['--help']); heavy = [m for m in ('torch', 'librosa', 'numpy', 'scipy') "
            "if m in sys.modules]; print(heavy); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().endswith("[]")
