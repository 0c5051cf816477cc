"""The wheel (`make wheel`): built by whool, installed into a fresh virtual
environment, and the module installed from it into a new database by an Odoo
whose addons path holds neither the checkout nor its test copy.
"""

import ast
import os
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import psycopg2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import devctl  # noqa: E402

ADDON = "odoo/addons/channel_connector/"
PRINT_PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
FIND_ADDONS = (
    "import importlib.util as u\n"
    "for name in ('channel_connector', 'queue_job'):\n"
    "    print(u.find_spec('odoo.addons.' + name).origin)\n"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    return devctl.build_wheel(devctl.ROOT, folder / "dist", folder / "src")


def test_the_wheel_ships_the_addon_and_not_the_developer_side(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("__manifest__.py", "models/channel_backend.py", "i18n/fr.po"):
        assert ADDON + shipped in names
    for left_out in devctl.WHEEL_EXCLUDED:
        assert not any(name.startswith(ADDON + left_out) for name in names), left_out
    assert ADDON + "static/tests/tours/channel_fix_sku_tour.js" in names
    assert not any(name.endswith(".pyc") for name in names)


def test_the_manifest_is_the_source_of_version_and_dependencies(wheel):
    manifest = ast.literal_eval((devctl.ROOT / "__manifest__.py").read_text())
    dist_info = wheel.name.split("-py3")[0] + ".dist-info/METADATA"
    metadata = HeaderParser().parsestr(zipfile.ZipFile(wheel).read(dist_info).decode())
    assert metadata["Name"] == "odoo-addon-channel_connector"
    assert metadata["Version"] == manifest["version"]
    assert set(metadata.get_all("Requires-Dist")) == {
        "odoo==19.0.*",
        "odoo-addon-queue_job==19.0.*",
        *manifest["external_dependencies"]["python"],
    }


def fresh_venv(folder):
    """A new virtual environment that sees Odoo and its requirements (the
    project's .venv site-packages, through a .pth file) and nothing else."""
    subprocess.run(
        [getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(folder)],
        check=True,
        timeout=300,
    )
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", PRINT_PURELIB],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    project = sysconfig.get_paths()["purelib"]
    Path(purelib, "odoo_beside.pth").write_text(f"{devctl.ODOO_PATH}\n{project}\n")
    return python, Path(purelib)


@pytest.fixture
def database():
    _source, params = devctl.discover_postgres(os.environ)
    name = f"{devctl.TEST_DATABASE}_wheel"
    devctl.drop_database(params, name)
    yield params, name
    devctl.drop_database(params, name)


def test_the_module_installs_from_the_wheel_alone(wheel, database, tmp_path):
    params, dbname = database
    python, site = fresh_venv(tmp_path / "venv")
    pip = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    subprocess.run([*pip, str(wheel)], check=True, timeout=300)
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = subprocess.run(
        [str(python), "-c", FIND_ADDONS],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
    ).stdout.split()
    assert Path(found[0]) == site / "odoo/addons/channel_connector/__init__.py"
    assert "queue_job" in found[1]
    config = tmp_path / "odoo.conf"
    config.write_text(
        "[options]\n"
        f"addons_path = {devctl.ODOO_PATH / 'addons'}\n"
        f"data_dir = {tmp_path / 'data'}\n"
        f"db_host = {params['host']}\n"
        f"db_port = {params['port']}\n"
        f"db_user = {params['user']}\n"
        f"db_password = {params['password']}\n"
        "http_interface = 127.0.0.1\n"
    )
    odoo = [str(python), str(devctl.ODOO_PATH / "odoo-bin"), "-c", str(config)]
    subprocess.run(
        [*odoo, "-d", dbname, "-i", "channel_connector", "--stop-after-init"]
        + ["--log-level=warn"],
        check=True,
        timeout=1200,
        cwd=tmp_path,
        env=environ,
    )
    connection = psycopg2.connect(dbname=dbname, **params)
    with connection.cursor() as cr:
        cr.execute(
            "SELECT name, state, latest_version FROM ir_module_module"
            " WHERE name IN ('channel_connector', 'queue_job') ORDER BY name"
        )
        rows = cr.fetchall()
    connection.close()
    assert [(name, state) for name, state, _v in rows] == [
        ("channel_connector", "installed"),
        ("queue_job", "installed"),
    ]
