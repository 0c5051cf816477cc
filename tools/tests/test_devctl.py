"""Tests of tools/devctl.py: requirement pins and PostgreSQL discovery.

The fallback test starts a real embedded PostgreSQL (pgserver) while nothing
answers on the probed address, then installs Odoo's `base` into it, which is
what `make run` and `make test` need on a machine without a server.
"""

import logging
import socket
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import devctl  # noqa: E402

# pgserver logs its exit handler at INFO after pytest's summary line.
logging.getLogger("pgserver").setLevel(logging.WARNING)


def unused_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_requirements_are_rewritten_to_wheels_keeping_markers():
    text = (
        "cbor2==5.4.2 ; python_version < '3.12'\n"
        "cbor2==5.6.2 ; python_version >= '3.12'\n"
        "psycopg2==2.9.5 ; python_version == '3.11'\n"
        "python-ldap==3.4.0 ; sys_platform != 'win32' and python_version < '3.12'\n"
        "requests==2.31.0 ; python_version >= '3.11' # (Noble)\n"
    )
    lines = devctl.adjust_odoo_requirements(text).splitlines()
    assert lines == [
        "cbor2==5.4.6 ; python_version < '3.12'",
        "cbor2==5.6.2 ; python_version >= '3.12'",
        "psycopg2-binary==2.9.9 ; python_version == '3.11'",
        "requests==2.31.0 ; python_version >= '3.11' # (Noble)",
    ]


def test_environment_variables_win():
    source, params = devctl.discover_postgres(
        {"PGHOST": "db.internal", "PGPORT": "6543", "PGUSER": "odoo"}
    )
    assert source == "environment"
    assert (params["host"], params["port"], params["user"]) == (
        "db.internal",
        6543,
        "odoo",
    )


def test_odoo_series_is_read_from_the_source_tree(tmp_path):
    assert devctl.odoo_series(devctl.ODOO_PATH) == "19.0"
    assert devctl.odoo_series(tmp_path) is None


@pytest.fixture
def embedded_server(tmp_path):
    data_dir = tmp_path / "pgdata"
    source, params = devctl.discover_postgres(
        {}, probe=("127.0.0.1", unused_port()), data_dir=data_dir
    )
    yield source, params, data_dir
    devctl.stop_embedded_postgres(data_dir)


def test_embedded_postgres_when_no_server_answers(embedded_server, tmp_path):
    source, params, _data_dir = embedded_server
    assert source == "embedded"
    assert params["user"] == "odoo", "Odoo refuses the postgres role"
    connection = psycopg2.connect(dbname="postgres", **params)
    with connection.cursor() as cr:
        cr.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cr.fetchone() == (True,)
    connection.close()
    config = tmp_path / "odoo.conf"
    config.write_text(
        "[options]\n"
        f"db_host = {params['host']}\n"
        f"db_port = {params['port']}\n"
        f"db_user = {params['user']}\n"
        f"db_password = {params['password']}\n"
        f"data_dir = {tmp_path / 'data'}\n"
    )
    subprocess.run(
        devctl.odoo_command(
            config,
            "-d",
            "fallback",
            "-i",
            "base",
            "--stop-after-init",
            "--log-level=warn",
        ),
        check=True,
        timeout=300,
    )
    connection = psycopg2.connect(dbname="fallback", **params)
    with connection.cursor() as cr:
        cr.execute("SELECT state FROM ir_module_module WHERE name = 'base'")
        assert cr.fetchone() == ("installed",)
    connection.close()
