"""`CHANNEL_LANG=fr_FR make run`: the language step of tools/devctl.py run on
a copy of the test template, then read back from the database."""

import os
import sys
from pathlib import Path

import psycopg2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import devctl  # noqa: E402


@pytest.fixture
def database():
    _source, params = devctl.discover_postgres(os.environ)
    templates = sorted(
        name
        for name in devctl.database_names(params)
        if name.startswith(devctl.TEMPLATE_PREFIX)
    )
    assert templates, "make test builds the template database first"
    name = f"{devctl.TEST_DATABASE}_lang"
    devctl.copy_database(params, templates[-1], name)
    yield params, name
    devctl.drop_database(params, name)


def french_model_name(cr, model):
    cr.execute("SELECT name->>'fr_FR' FROM ir_model WHERE model = %s", [model])
    return cr.fetchone()[0]


def test_the_admin_gets_french_with_the_addon_translated(database, tmp_path):
    params, dbname = database
    config = tmp_path / "odoo.conf"
    config.write_text(
        "[options]\n"
        f"addons_path = {devctl.ODOO_PATH / 'addons'},{devctl.ROOT.parent}\n"
        f"data_dir = {tmp_path / 'data'}\n"
        f"db_host = {params['host']}\n"
        f"db_port = {params['port']}\n"
        f"db_user = {params['user']}\n"
        f"db_password = {params['password']}\n"
        "http_interface = 127.0.0.1\n"
    )
    devctl.set_admin_language(config, dbname, "fr_FR")
    connection = psycopg2.connect(dbname=dbname, **params)
    with connection.cursor() as cr:
        cr.execute(
            "SELECT p.lang FROM res_users u JOIN res_partner p ON p.id = u.partner_id"
            " JOIN ir_model_data d ON d.res_id = u.id AND d.model = 'res.users'"
            " WHERE d.module = 'base' AND d.name = 'user_admin'"
        )
        admin_lang = cr.fetchone()[0]
        model_name, sale_name = (
            french_model_name(cr, model) for model in ("channel.backend", "sale.order")
        )
    connection.close()
    assert admin_lang == "fr_FR"
    assert model_name == "Backend de canal", "i18n/fr.po of the addon"
    assert sale_name and sale_name != "Sales Order", "Odoo's own French"
