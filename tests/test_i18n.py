import io
import re

import polib

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import code_translations, trans_export

I18N = f"{get_module_path('channel_connector')}/i18n"
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[sdf%]|\{\{.*?\}\}|\bt-\w+=\"[^\"]*\"")


def msgids(catalog):
    return {entry.msgid for entry in catalog if entry.msgid}


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    def test_the_pot_holds_every_translatable_string(self):
        """Odoo's own export, run now, finds what i18n/channel_connector.pot
        holds: a string added or removed without `make pot` fails here."""
        buffer = io.BytesIO()
        trans_export(False, ["channel_connector"], buffer, "po", self.env)
        exported = msgids(polib.pofile(buffer.getvalue().decode()))
        committed = msgids(polib.pofile(f"{I18N}/channel_connector.pot"))
        self.assertGreater(len(exported), 100)
        missing, stale = sorted(exported - committed), sorted(committed - exported)
        self.assertEqual(
            (missing, stale),
            ([], []),
            "i18n/channel_connector.pot is out of date: "
            "run `make pot` (missing from it, then no longer in the code)",
        )

    def test_french_follows_the_pot_and_keeps_every_placeholder(self):
        french = polib.pofile(f"{I18N}/fr.po")
        pot = polib.pofile(f"{I18N}/channel_connector.pot")
        self.assertEqual(msgids(french), msgids(pot), "run `make pot` to merge")
        for entry in french.translated_entries():
            with self.subTest(msgid=entry.msgid[:60]):
                self.assertEqual(
                    sorted(PLACEHOLDER.findall(entry.msgstr)),
                    sorted(PLACEHOLDER.findall(entry.msgid)),
                )

    def test_french_reaches_records_and_code(self):
        """Loading fr_FR reads i18n/fr.po for records (model names, menus)
        and for the strings of the Python code."""
        self.env["res.lang"]._activate_lang("fr_FR")
        modules = self.env["ir.module.module"]
        modules._load_module_terms(["channel_connector"], ["fr_FR"])
        french = self.env(context={"lang": "fr_FR"})
        self.assertEqual(
            french["ir.model"]._get("channel.backend").name, "Backend de canal"
        )
        menu = french.ref("channel_connector.channel_connector_menu_root")
        self.assertEqual(menu.name, "Canaux")
        code = code_translations.get_python_translations("channel_connector", "fr_FR")
        self.assertEqual(
            code["Backend %(name)s has no provider."],
            "Le backend %(name)s n'a pas de fournisseur.",
        )
