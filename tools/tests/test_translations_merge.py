"""`make pot` merges the exported template into every i18n/*.po."""

import sys
from pathlib import Path

import polib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import devctl  # noqa: E402


def catalog(path, entries):
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    for msgid, msgstr in entries:
        po.append(polib.POEntry(msgid=msgid, msgstr=msgstr))
    po.save(str(path))


def test_new_strings_come_untranslated_and_gone_ones_leave(tmp_path):
    catalog(tmp_path / "channel_connector.pot", [("Kept", ""), ("New", "")])
    catalog(tmp_path / "fr.po", [("Kept", "Conservé"), ("Gone", "Parti")])
    devctl.merge_translations(tmp_path / "channel_connector.pot")
    merged = polib.pofile(str(tmp_path / "fr.po"))
    assert {entry.msgid: entry.msgstr for entry in merged} == {
        "Kept": "Conservé",
        "New": "",
    }
    assert "Gone" not in (tmp_path / "fr.po").read_text()
