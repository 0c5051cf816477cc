"""README.rst says what the code does (its order status table is the
adapters' `status_actions`, read from the code), and it and docs/ render."""

import tempfile
from pathlib import Path

from odoo.tests import BaseCase, tagged

from ..adapters import ADAPTERS

README = Path(__file__).resolve().parent.parent / "README.rst"


def read_status_table(text):
    """{provider code: {status: action}} of the table between the
    `status-table-start` and `status-table-end` comments of `text`."""
    block = text.split(".. status-table-start")[1].split(".. status-table-end")[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    border = lines[0]
    starts = [
        i for i, char in enumerate(border) if char == "=" and border[i - 1 : i] != "="
    ]
    rows = []
    for line in lines[3:-1]:  # border, header, border ... border
        cells = [
            line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)
        ]
        if cells[0]:
            rows.append(cells)
        else:  # a continuation line of the row above
            rows[-1][1] += " " + cells[1]
    table = {}
    for provider, statuses, action in rows:
        for status in statuses.split(","):
            table.setdefault(provider.lower(), {})[status.strip()] = action
    return table


@tagged("post_install", "-at_install")
class TestStatusTable(BaseCase):
    def test_readme_status_table_is_the_adapters_table(self):
        documented = read_status_table(README.read_text())
        from_code = {
            code: dict(adapter.status_actions)
            for code, adapter in ADAPTERS.items()
            if adapter.status_actions
        }
        self.assertEqual(documented, from_code)

    def test_table_reader_sees_a_changed_action(self):
        text = README.read_text().replace(
            "Shopify        voided, expired                             cancel",
            "Shopify        voided, expired                             wait",
        )
        self.assertEqual(read_status_table(text)["shopify"]["expired"], "wait")


def docutils_problems(path):
    """The warnings and errors docutils reports for a reStructuredText file
    (a malformed table renders as an error box on PyPI and in editors)."""
    from docutils.core import publish_doctree
    from docutils.utils import Reporter

    document = publish_doctree(
        path.read_text(),
        source_path=str(path),
        settings_overrides={"report_level": 5, "halt_level": 5},
    )
    return [
        node.astext()[:200]
        for node in document.findall(
            lambda n: (
                n.tagname == "system_message" and n["level"] >= Reporter.WARNING_LEVEL
            )
        )
    ]


@tagged("post_install", "-at_install")
class TestDocsRender(BaseCase):
    def test_readme_and_docs_render_without_docutils_errors(self):
        folder = README.parent
        paths = [README, *sorted((folder / "docs").glob("*.rst"))]
        problems = {p.name: docutils_problems(p) for p in paths}
        self.assertEqual({k: v for k, v in problems.items() if v}, {})

    def test_a_malformed_table_is_reported(self):
        with tempfile.TemporaryDirectory() as folder:
            broken = Path(folder, "broken-table.rst")
            broken.write_text("==  ==\na   b\n==  ==\nlonger  c\n==  ==\n")
            self.assertTrue(docutils_problems(broken))
