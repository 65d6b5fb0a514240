"""The wheel carries the templates and static files, so `pip install .` works."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("webadmin-*.whl"))


def test_wheel_has_assets(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()

    assert "webadmin/templates/base.html" in names
    assert "webadmin/templates/dashboard/tile_cpu.html" in names
    assert "webadmin/static/htmx-2.0.11.min.js" in names
    assert "webadmin/static/app.js" in names
    assert "webadmin/sources/tegrastats_parser.py" in names


def test_installed_wheel_serves_login(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    script = (
        "import webadmin, pathlib\n"
        "from webadmin.config import load_settings\n"
        f"app = webadmin.create_app(load_settings({{'WEBADMIN_DATA_DIR': {str(tmp_path / 'data')!r}}}))\n"
        "assert pathlib.Path(webadmin.__file__).parent.parent == pathlib.Path(" + repr(str(target)) + ")\n"
        "client = app.test_client()\n"
        "page = client.get('/login')\n"
        "script = client.get('/static/htmx-2.0.11.min.js')\n"
        "print(page.status_code, script.status_code, 'csrf_token' in page.get_data(as_text=True))\n"
        "script.close()\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(target)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200 200 True"
