"""Orders routed to another company: the variants, taxes and customers they
map to there, and the missing-SKU exception several routed orders wait on."""

from decimal import Decimal

from odoo.tests import tagged
from odoo.tools import SQL

from ..adapters.records import TaxLineData
from ..sql import queries
from .test_order_import import OrderImportCommon

ROUTED_LOCATION = 4455  # channel location whose orders go to the other company
MAIN_LOCATION = 1


class RoutedOrderCommon(OrderImportCommon):
    """Orders from channel location 4455 are routed to the other company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["channel.order.route"].create(
            {
                "backend_id": cls.backend.id,
                "criterion": "location",
                "location_ref": str(ROUTED_LOCATION),
                "target_company_id": cls.other_company.id,
            }
        )

    def _located_order(self, order_id, location, lines):
        return self._order(order_id=order_id, lines=lines, location_id=location)


@tagged("post_install", "-at_install")
class TestRoutedProducts(RoutedOrderCommon):
    """A channel variant maps to the product of the company an order is
    routed to; a shared product serves every company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mug_main = cls._product("Mug", "MUG-1", company_id=cls.env.company.id)
        cls.mug_other = cls._product("Mug", "MUG-1", company_id=cls.other_company.id)

    def _mug_order(self, order_id, location, sku="MUG-1"):
        return self._located_order(
            order_id, location, [(sku, 8501, 1, "10.00", "0.00", None)]
        )

    def _bindings(self, variant_ref):
        return self.env["channel.product.binding"].search(
            [("backend_id", "=", self.backend.id), ("external_ref", "=", variant_ref)]
        )

    def _placed(self, order_id):
        """(company, products, state) of the sale order of a channel order."""
        sale_order = self._sale_order(order_id)
        return sale_order.company_id, sale_order.order_line.product_id, sale_order.state

    def test_a_variant_maps_to_the_product_of_the_routed_company(self):
        self._deliver(self._mug_order(8101, MAIN_LOCATION))
        self._deliver(self._mug_order(8102, ROUTED_LOCATION))
        self.assertEqual(self._placed(8101), (self.env.company, self.mug_main, "sale"))
        self.assertEqual(
            self._placed(8102), (self.other_company, self.mug_other, "sale")
        )
        self.assertEqual(
            {(b.company_id, b.product_id) for b in self._bindings("8501")},
            {
                (self.env.company, self.mug_main),
                (self.other_company, self.mug_other),
            },
            "one binding of the variant per company",
        )

    def test_routed_first_then_main_company(self):
        self._deliver(self._mug_order(8111, ROUTED_LOCATION))
        self._deliver(self._mug_order(8112, MAIN_LOCATION))
        self.assertEqual(
            self._placed(8111), (self.other_company, self.mug_other, "sale")
        )
        self.assertEqual(self._placed(8112), (self.env.company, self.mug_main, "sale"))

    def test_each_company_binding_survives_a_sku_renamed_on_the_channel(self):
        self._deliver(self._mug_order(8201, MAIN_LOCATION))
        self._deliver(self._mug_order(8202, ROUTED_LOCATION))
        self._deliver(self._mug_order(8203, ROUTED_LOCATION, sku="MUG-ONE"))
        self._deliver(self._mug_order(8204, MAIN_LOCATION, sku="MUG-ONE"))
        self.assertEqual(
            self._placed(8203), (self.other_company, self.mug_other, "sale")
        )
        self.assertEqual(self._placed(8204), (self.env.company, self.mug_main, "sale"))

    def test_a_variant_bound_to_a_shared_product_serves_every_company(self):
        cap = self._product("Shared cap", "CAP-1")
        lines = [("CAP-1", 8502, 1, "10.00", "0.00", None)]
        self._deliver(self._located_order(8301, MAIN_LOCATION, lines))
        # Renamed on the channel: only the binding can still map it.
        renamed = [("CAP-ONE", 8502, 1, "10.00", "0.00", None)]
        self._deliver(self._located_order(8302, ROUTED_LOCATION, renamed))
        self.assertEqual(self._placed(8301), (self.env.company, cap, "sale"))
        self.assertEqual(self._placed(8302), (self.other_company, cap, "sale"))
        self.assertEqual(len(self._bindings("8502")), 1)

    def test_a_binding_to_a_company_product_belongs_to_that_company(self):
        binding = self.env["channel.product.binding"].create(
            {
                "backend_id": self.backend.id,
                "company_id": self.env.company.id,
                "external_ref": "8503",
                "product_id": self.mug_other.id,
            }
        )
        self.assertEqual(binding.company_id, self.other_company)


@tagged("post_install", "-at_install")
class TestRoutedTaxes(RoutedOrderCommon):
    """A routed order keeps the channel tax its title names, in its company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.state_tax = cls._tax("CA State Tax 10%", 10, "tax_excluded")
        cls.env["channel.tax.mapping"].create(
            {
                "backend_id": cls.backend.id,
                "rate": 10,
                "title": "CA State Tax",
                "tax_id": cls.state_tax.id,
            }
        )
        # Created first: a twin found by rate alone would be this one.
        cls.other_generic = cls._other_tax("Routed 10%")
        cls.other_state_tax = cls._other_tax("CA State Tax 10%")
        cls.Mapping = cls.env["channel.tax.mapping"]

    @classmethod
    def _other_tax(cls, name):
        return (
            cls.env["account.tax"]
            .with_company(cls.other_company)
            .create(
                {
                    "name": name,
                    "amount": 10,
                    "amount_type": "percent",
                    "type_tax_use": "sale",
                    "price_include_override": "tax_excluded",
                    "company_id": cls.other_company.id,
                }
            )
        )

    @staticmethod
    def _tax_line(title):
        return TaxLineData(
            title=title, rate=Decimal("0.1"), amount=Decimal(1), price_included=False
        )

    def test_title_mapping_finds_the_same_tax_in_the_routed_company(self):
        found = self.Mapping._find_tax(
            self.backend, self._tax_line("CA State Tax"), self.other_company
        )
        self.assertEqual(found, self.other_state_tax)
        self.assertEqual(
            self.Mapping._find_tax(
                self.backend, self._tax_line("CA State Tax"), self.env.company
            ),
            self.state_tax,
        )

    def test_a_mapping_names_the_tax_of_the_routed_company(self):
        eu_tax = self._other_tax("State tax (EU entity)")
        mapping = self.Mapping.create(
            {
                "backend_id": self.backend.id,
                "rate": 10,
                "title": "CA State Tax",
                "tax_id": eu_tax.id,
            }
        )
        self.assertEqual(mapping.company_id, self.other_company)
        found = self.Mapping._find_tax(
            self.backend, self._tax_line("CA State Tax"), self.other_company
        )
        self.assertEqual(found, eu_tax, "the routed company's own mapping wins")
        self.assertEqual(
            self.Mapping._find_tax(
                self.backend, self._tax_line("CA State Tax"), self.env.company
            ),
            self.state_tax,
            "the mapping of the other company is not used in the backend's",
        )
        self.assertEqual(
            self.Mapping._find_tax(
                self.backend, self._tax_line("Tax"), self.other_company
            ),
            self.other_generic,
            "no mapping of that title: the twin of the generic mapping",
        )

    def test_routed_order_keeps_title_specific_taxes(self):
        payload = self._located_order(
            8401,
            ROUTED_LOCATION,
            [
                ("TS-RED-M", 8511, 1, "10.00", "0.00", "0.1"),
                ("TS-BLUE-L", 8512, 1, "20.00", "0.00", "0.1"),
            ],
        )
        payload["line_items"][0]["tax_lines"][0]["title"] = "CA State Tax"
        self._deliver(payload)
        sale_order = self._sale_order(8401)
        self.assertEqual(sale_order.company_id, self.other_company)
        by_product = {line.product_id: line.tax_ids for line in sale_order.order_line}
        self.assertEqual(by_product[self.red_m], self.other_state_tax)
        self.assertEqual(by_product[self.blue_l], self.other_generic)
        self.assertEqual(sale_order.state, "sale")


@tagged("post_install", "-at_install")
class TestPartnerPhoneLookup(OrderImportCommon):
    """Matching a guest by phone reads an index, not every contact."""

    def test_phone_candidates_are_read_through_the_index(self):
        # Enough contacts with a phone for the planner to prefer an index.
        self.env["res.partner"].create(
            [{"name": f"Contact {n}", "phone": f"+1 555 {n:07d}"} for n in range(1500)]
        )
        self.env["res.partner"].flush_model()
        self.env.cr.execute("ANALYZE res_partner")
        # The plan must be able to use the index; whether it prefers it on a
        # test database's statistics is the planner's business.
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        query = queries.phone_candidates_query(self.env.company.id, "12345678")
        self.env.cr.execute(SQL("EXPLAIN %s", query))
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.env.cr.execute("RESET enable_seqscan")
        self.assertIn("res_partner_channel_phone_digits_index", plan)

    def test_short_local_number_matches_its_trailing_digits(self):
        shop = self.env["res.partner"].create({"name": "Shop", "phone": "55-12-34"})
        self.env["res.partner"].create({"name": "Other", "phone": "551235"})
        found = self.env["channel.partner.binding"]._find_partner_by_phone(
            "551234", self.env.company, self.env["res.country"]
        )
        self.assertEqual(found, shop)


@tagged("post_install", "-at_install")
class TestMissingSkuException(OrderImportCommon):
    """One missing SKU, several waiting orders: the exception keeps the
    documents of the first and lists every waiting order."""

    def test_exception_keeps_its_first_partner_and_lists_the_waiting_orders(self):
        lines = [("TS-NEW", 8601, 1, "10.00", "0.00", None)]
        first = self._order(order_id=8701, lines=lines)
        second = self._order(order_id=8702, lines=lines)
        second["customer"] = {
            **second["customer"],
            "id": 99887766,
            "email": "second.buyer@example.com",
        }
        second["email"] = second["contact_email"] = "second.buyer@example.com"
        first_event = self._deliver(first)
        second_event = self._deliver(second)
        exception = self.env["channel.exception"].search(
            [("backend_id", "=", self.backend.id), ("state", "=", "open")]
        )
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.occurrences, 2)
        partners = self.env["channel.partner.binding"].search(
            [("external_ref", "in", ("email:john@example.com", "99887766"))]
        )
        self.assertEqual(len(partners.partner_id), 2, "two different buyers")
        self.assertEqual(exception.partner_id.email, "john@example.com")
        self.assertEqual(exception.channel_sku, "TS-NEW")
        self.assertEqual(exception._get_retry_targets(), [first_event, second_event])
