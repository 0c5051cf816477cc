"""The engine talks to channels only through operations the adapter base
class declares, and names no provider."""

import ast
import re
from pathlib import Path

from odoo.tests import BaseCase, tagged

from ..adapters import ADAPTERS
from ..adapters.base import ChannelAdapter
from ..adapters.webhooks import PRIVACY_CUSTOMER_REDACT, PrivacyRequest

MODELS = Path(__file__).resolve().parent.parent / "models"
VIEWS = MODELS.parent / "views"
ADAPTER_FACTORIES = {"_get_adapter", "get_adapter"}


def _is_adapter_call(node):
    """Whether `node` is a call of `_get_adapter(...)` / `get_adapter(...)`."""
    return (
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None))
        in ADAPTER_FACTORIES
    )


def adapter_attributes(source):
    """{attribute: line} read on an adapter in `source`: on a name bound to
    a `_get_adapter(...)` result, a parameter named `adapter`, or the call."""
    tree = ast.parse(source)
    names = {"adapter"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_adapter_call(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        value = node.value
        if (isinstance(value, ast.Name) and value.id in names) or _is_adapter_call(
            value
        ):
            found.setdefault(node.attr, node.lineno)
    return found


@tagged("post_install", "-at_install")
class TestAdapterContract(BaseCase):
    def test_every_operation_the_models_use_is_declared_on_the_base(self):
        used = {}
        for path in sorted(MODELS.glob("*.py")):
            for attribute, line in adapter_attributes(path.read_text()).items():
                used.setdefault(attribute, f"{path.name}:{line}")
        self.assertIn("fetch_order", used, "the scan finds the adapter calls")
        self.assertIn("push_stock", used)
        undeclared = {a: where for a, where in used.items() if a.startswith("__")}
        undeclared |= {
            a: where for a, where in used.items() if not hasattr(ChannelAdapter, a)
        }
        self.assertEqual(undeclared, {}, "declare these on ChannelAdapter")

    def test_scan_sees_a_call_on_a_bound_adapter(self):
        source = "a = self._get_adapter(priority='orders')\na.new_operation(1)\n"
        self.assertEqual(adapter_attributes(source), {"new_operation": 2})

    def test_every_adapter_implements_or_inherits_each_operation(self):
        for code, adapter_class in ADAPTERS.items():
            for name, value in vars(adapter_class).items():
                if callable(value) and not name.startswith("_"):
                    with self.subTest(adapter=code, method=name):
                        self.assertTrue(
                            hasattr(ChannelAdapter, name)
                            or name in PROVIDER_INTERNALS.get(code, ()),
                            f"{code}.{name} is public but not on ChannelAdapter",
                        )


# Public helpers of one adapter that the engine never calls.
PROVIDER_INTERNALS = {
    "shopify": {"graphql"},
    "woocommerce": {"url", "get", "post", "put", "delete"},
    "amazon": {"get"},
}


@tagged("post_install", "-at_install")
class TestLifecycleRecords(BaseCase):
    """Privacy and uninstall topics reach the engine as canonical records."""

    def test_shopify_customer_redact_becomes_a_privacy_request(self):
        adapter = ADAPTERS["shopify"]({})
        payload = {
            "shop_domain": "demo-shop.myshopify.com",
            "customer": {"id": 191167, "email": "john@example.com"},
            "orders_to_redact": [299938, 280263],
        }
        request = adapter.parse_privacy_request("customers/redact", payload)
        self.assertEqual(
            request,
            PrivacyRequest(
                kind=PRIVACY_CUSTOMER_REDACT,
                customer_ref="191167",
                order_refs=("299938", "280263"),
                email="john@example.com",
            ),
        )
        self.assertIsNone(adapter.parse_privacy_request("orders/create", payload))
        self.assertTrue(adapter.is_app_uninstall("app/uninstalled"))
        self.assertFalse(adapter.is_app_uninstall("orders/create"))

    def test_channels_without_privacy_topics_make_no_request(self):
        for code in ("woocommerce", "generic"):
            adapter = ADAPTERS[code]({})
            with self.subTest(adapter=code):
                self.assertIsNone(
                    adapter.parse_privacy_request("customers/redact", {"id": 1})
                )
                self.assertFalse(adapter.is_app_uninstall("app/uninstalled"))


@tagged("post_install", "-at_install")
class TestEngineNamesNoProvider(BaseCase):
    """Provider specifics live in the provider files of models/
    (`<model>_<code>.py`, `_inherit` only) and in adapters/: the rest of
    models/ names no provider, not even in a help text."""

    def test_models_outside_provider_files_name_no_provider(self):
        suffixes = tuple(f"_{code}.py" for code in ADAPTERS)
        pattern = re.compile("|".join(c for c in ADAPTERS if c != "generic"), re.I)
        for code in ("shopify", "woocommerce", "threepl", "amazon"):
            self.assertRegex(code, pattern, "every provider is guarded")
        hits = [
            f"{path.name}:{number}: {line.strip()}"
            for path in sorted(MODELS.glob("*.py"))
            if not path.name.endswith(suffixes) and path.name != "__init__.py"
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if pattern.search(line)
        ]
        self.assertEqual(hits, [])

    def test_generic_views_show_no_provider_field(self):
        suffixes = tuple(f"_{code}.py" for code in ADAPTERS)
        provider_fields = {
            target.id
            for path in MODELS.glob("*.py")
            if path.name.endswith(suffixes)
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(getattr(node.value.func, "value", None), "id", None) == "fields"
            # `selection_add` extends a field of the engine.
            and not any(k.arg == "selection_add" for k in node.value.keywords)
            for target in node.targets
        }
        self.assertIn("inventory_item_ref", provider_fields)
        view_suffixes = tuple(f"_{code}_views.xml" for code in ADAPTERS)
        hits = [
            f"{path.name}: {name}"
            for path in sorted(VIEWS.glob("*.xml"))
            if not path.name.endswith(view_suffixes)
            for name in re.findall(r'<field name="(\w+)"', path.read_text())
            if name in provider_fields
        ]
        self.assertEqual(hits, [])
