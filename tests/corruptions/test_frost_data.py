"""The frost textures ship with the package (issue 11, item 2).

Frost once read its six photographs from an installed ``imagenet_c`` or ``imagecorruptions``,
the test oracles that only ``make install`` adds, so a plain ``pip install`` could not build
``--corruptions all``. Now they are package data under ``corruptions/data/frost/``:

* the shipped files are the original ones (SHA-256 against a fixed table, and against the
  oracle packages' copies where those are installed; skipped without them, failed under ``CI``);
* frost works in a fresh interpreter in which neither oracle package can be imported, and
  gives the same pixels as here;
* ``pyproject.toml`` declares every shipped file as package data, and no corruptions glob is dead;
* the licence and attribution travel with the files.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import corruptions
from corruptions import corrupt
from corruptions.frost import FROST_FILES, frost_dir, shipped_frost_dir

PACKAGE = Path(corruptions.__file__).resolve().parent
SHIPPED = PACKAGE / "data" / "frost"
REPO = PACKAGE.parent

# hendrycks/robustness ImageNet-C/imagenet_c/imagenet_c/frost/ (= imagecorruptions 1.1.2 frost/)
ORIGINAL_SHA256 = {
    "frost1.png": "ff9f907860bd7a835d459e32f9d588062b7f61ee267343cc7222b56753a14755",
    "frost2.png": "fe211a89b336999c207a852ce05818d4545d0b57c5beadd824b4cc9d9a9b6137",
    "frost3.png": "2d0d50b4a9bb213f38b024ef7768731bb83cc08d2f26b5766bbc167cdfa0e504",
    "frost4.jpg": "3f8b91ca1a9fa7167b09e773da53f5ae60d0a1fd88f02a783f6e328a72887f6e",
    "frost5.jpg": "5fc6a19df4a429ba68abdcc8f8a4278d4c9f81c9ccafd2c92ab0c8cf8992ebd2",
    "frost6.jpg": "1f92b2f48408748085b68dd81d816ef239f42cef3029c25d041fcb6760fb4f25",
}
ORACLES = ("imagecorruptions", "imagenet_c")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _oracle_frost_dirs() -> dict[str, Path]:
    """Each installed oracle package's complete ``frost/`` folder, found without importing it."""
    found = {}
    for package in ORACLES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            folder = Path(spec.origin).parent / "frost"
            if all((folder / name).is_file() for name in FROST_FILES):
                found[package] = folder
    return found


def test_the_shipped_textures_are_the_original_files():
    assert sorted(p.name for p in SHIPPED.iterdir() if p.suffix in (".png", ".jpg")) == sorted(FROST_FILES)
    assert {name: sha256(SHIPPED / name) for name in FROST_FILES} == ORIGINAL_SHA256


def test_the_shipped_textures_equal_the_oracle_packages_copies():
    folders = _oracle_frost_dirs()
    if not folders:
        reason = ("neither imagecorruptions==1.1.2 nor imagenet_c with its frost/ folder is "
                  "installed (`make install` adds them with --no-deps)")  # fmt: skip
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the oracle package is required: {reason}")
        pytest.skip(reason)
    for package, folder in folders.items():
        theirs = {name: sha256(folder / name) for name in FROST_FILES}
        assert theirs == {name: sha256(SHIPPED / name) for name in FROST_FILES}, package


def test_the_default_folder_is_the_package_data(monkeypatch):
    monkeypatch.delenv("CORRUPTIONS_FROST_DIR", raising=False)
    assert Path(str(frost_dir())).resolve() == SHIPPED
    assert Path(str(shipped_frost_dir())).resolve() == SHIPPED


_HIDDEN = r"""
import json, os, sys
sys.modules["imagecorruptions"] = None  # `import imagecorruptions` now raises ImportError
sys.modules["imagenet_c"] = None
os.environ.pop("CORRUPTIONS_FROST_DIR", None)
import numpy as np
from corruptions import corrupt
from corruptions.frost import frost_dir
image = np.random.RandomState(5).randint(0, 256, (224, 224, 3)).astype(np.uint8)
outs = [corrupt(image, "frost", s, rng=np.random.RandomState(s), preset="imagenet").tolist()
        for s in (1, 3, 5)]
small = corrupt(image[:32, :32], "frost", 4, rng=np.random.RandomState(1), preset="cifar")
for name in ("imagecorruptions", "imagenet_c"):
    try:
        __import__(name)
        raise SystemExit(f"{name} could still be imported")
    except ImportError:
        pass
print(json.dumps({"dir": str(frost_dir()), "outs": outs, "small": small.tolist()}))
"""


def test_frost_works_with_the_oracle_packages_hidden():
    env = {k: v for k, v in os.environ.items() if k != "CORRUPTIONS_FROST_DIR"}
    done = subprocess.run([sys.executable, "-c", _HIDDEN], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["dir"]).resolve() == SHIPPED
    image = np.random.RandomState(5).randint(0, 256, (224, 224, 3)).astype(np.uint8)
    for s, out in zip((1, 3, 5), result["outs"]):
        here = corrupt(image, "frost", s, rng=np.random.RandomState(s), preset="imagenet")
        np.testing.assert_array_equal(np.asarray(out, dtype=np.uint8), here)
        assert not np.array_equal(here, image)
    small = corrupt(image[:32, :32], "frost", 4, rng=np.random.RandomState(1), preset="cifar")
    np.testing.assert_array_equal(np.asarray(result["small"], dtype=np.uint8), small)


def test_pyproject_declares_every_shipped_file_and_no_dead_glob():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["corruptions"]
    files = [p.relative_to(PACKAGE).as_posix() for p in SHIPPED.iterdir() if p.is_file()]
    assert sorted(files) == sorted(f"data/frost/{n}" for n in [*FROST_FILES, "LICENSE", "README.md"])
    for name in files:
        assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} is not package data"
    for g in globs:
        assert any(fnmatch.fnmatch(p.relative_to(PACKAGE).as_posix(), g)
                   for p in PACKAGE.rglob("*") if p.is_file()), f"package-data glob {g} matches nothing"  # fmt: skip


def test_licence_and_attribution_ship_with_the_textures():
    licence = (SHIPPED / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    readme = (SHIPPED / "README.md").read_text()
    for needle in ("Hendrycks", "Dietterich", "github.com/hendrycks/robustness", "Michaelis",
                   "github.com/bethgelab/imagecorruptions", "Apache"):  # fmt: skip
        assert needle in readme, needle
    for name, digest in ORIGINAL_SHA256.items():
        assert f"{digest}  {name}" in readme
