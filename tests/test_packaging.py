"""The built wheel ships envs/, worlds/ and agents/ inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(out)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("simsuite-*.whl"))


def test_wheel_ships_the_subpackages(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("simsuite/envs/pendulum.py", "simsuite/worlds/__init__.py", "simsuite/agents/experts.py", "simsuite/backends/mujoco.py"):
        assert module in names, module
    assert any(n.startswith("simsuite/_native") and n.endswith(".so") for n in names), "the C kernels were not built"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "simsuite = simsuite.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_wheel_installs_into_a_clean_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    code = (
        "import gymnasium, simsuite, simsuite.native; assert simsuite.native.kernels is not None; "
        "e = gymnasium.make('SimSuite/Pendulum-v0', backend='pybullet'); e.reset(seed=0); print('ok')"
    )
    result = subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert result.stdout.strip() == "ok"
