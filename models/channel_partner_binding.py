from odoo import api, fields, models
from odoo.tools import sql

from ..sql import queries
from ..sql.queries import PHONE_DIGITS_REVERSED

# The reversed digits of a contact's phone: "ends with these digits" becomes
# a prefix search, which a btree index with text_pattern_ops answers.
PHONE_INDEX = "res_partner_channel_phone_digits_index"


class ChannelPartnerBinding(models.Model):
    """A channel customer (or guest identity) bound to one `res.partner`.

    For a registered customer `external_ref` is the channel customer id; a
    guest is bound by `email:<normalized email>` or `phone:<digits>`, so that
    repeat guests also land on one partner. `match_rule` says how the partner
    was found the first time.
    """

    _name = "channel.partner.binding"
    _description = "Channel Partner Binding"
    _inherit = ["channel.binding.mixin"]
    _order = "id desc"
    _rec_name = "external_ref"

    partner_id = fields.Many2one(
        "res.partner", required=True, index=True, ondelete="cascade", readonly=True
    )
    match_rule = fields.Selection(
        [
            ("customer_id", "Channel customer id"),
            ("email", "Email"),
            ("phone", "Phone"),
            ("created", "Created"),
        ],
        required=True,
        readonly=True,
        help="How the partner was matched when this binding was made.",
    )

    # === CRUD METHODS ===

    def init(self):
        """Index the contacts' phone digits for `_find_partner_by_phone`,
        which would otherwise normalize every contact's phone per order."""
        super().init()
        sql.create_index(
            self.env.cr,
            PHONE_INDEX,
            "res_partner",
            [f"{PHONE_DIGITS_REVERSED} text_pattern_ops"],
            where="parent_id IS NULL AND phone IS NOT NULL",
            comment="channel_connector: guest matching by phone",
        )

    # === BUSINESS METHODS ===

    @api.model
    def _resolve_partner(self, backend, customer, address, company):
        """The commercial partner of an order's buyer, matched or created.

        Tried in order: a binding on the channel customer id, then on the
        normalized email, then on the normalized phone; then an existing
        partner (made by the connector or not) with that exact email, then
        that phone. A partner found another way than the customer id gets
        bindings for every identity of the buyer, so the next order matches
        at once.
        """
        country = self._address_country(address)
        identities = self._identities(customer, country)
        partner, rule = self._match(backend, identities, company, country)
        if not partner:
            partner = self.env["res.partner"].create(
                self._partner_values(customer, address, company)
            )
            rule = "created"
        self._bind_missing(backend, identities, partner, rule, company)
        return partner

    @api.model
    def _identities(self, customer, country=None):
        """[(match rule, binding ref)] for a buyer, most reliable first."""
        identities = []
        if customer and customer.external_ref:
            identities.append(("customer_id", str(customer.external_ref)))
        email = normalize_email(customer.email if customer else None)
        if email:
            identities.append(("email", f"email:{email}"))
        phone = normalize_phone(
            customer.phone if customer else None, _calling_code(country)
        )
        if phone:
            identities.append(("phone", f"phone:{phone}"))
        return identities

    @api.model
    def _match(self, backend, identities, company, country=None):
        refs = [ref for _rule, ref in identities]
        bindings = self.search(
            [("backend_id", "=", backend.id), ("external_ref", "in", refs)]
        )
        by_ref = {binding.external_ref: binding for binding in bindings}
        for rule, ref in identities:
            if ref in by_ref:
                return by_ref[ref].partner_id, rule
        for rule, ref in identities:
            partner = self.env["res.partner"]
            if rule == "email":
                partner = self._find_partner_by_email(
                    ref.removeprefix("email:"), company
                )
            elif rule == "phone":
                partner = self._find_partner_by_phone(
                    ref.removeprefix("phone:"), company, country
                )
            if partner:
                return partner, rule
        return self.env["res.partner"], None

    @api.model
    def _find_partner_by_email(self, email, company):
        """An existing contact with exactly this email (case-insensitive):
        `email_normalized` is an equality on an indexed column, where `ilike`
        would read `_` and `%` as wildcards."""
        return self.env["res.partner"].search(
            [
                ("email_normalized", "=", email),
                ("parent_id", "=", False),
                ("company_id", "in", (company.id, False)),
            ],
            order="id",
            limit=1,
        )

    @api.model
    def _find_partner_by_phone(self, phone, company, country):
        """An existing contact whose phone normalizes to `phone`.

        Phones are stored as typed ("06 12 34 56 78", "+33 6..."): SQL keeps
        the contacts whose digits end like the number's last eight (through
        an index), then each is normalized with its own country (else the
        order's) and compared.
        """
        self.env["res.partner"].flush_model(
            ["phone", "parent_id", "company_id", "active"]
        )
        candidates = self.env["res.partner"].browse(
            queries.phone_candidate_ids(self.env.cr, company.id, phone.lstrip("+")[-8:])
        )
        for partner in candidates:
            code = _calling_code(partner.country_id or country)
            if normalize_phone(partner.phone, code) == phone:
                return partner
        return self.env["res.partner"]

    @api.model
    def _address_country(self, address):
        if not address or not address.country_code:
            return self.env["res.country"]
        return self.env["res.country"].search(
            [("code", "=", address.country_code.upper())], limit=1
        )

    @api.model
    def _bind_missing(self, backend, identities, partner, rule, company):
        existing = set(
            self.search(
                [
                    ("backend_id", "=", backend.id),
                    ("external_ref", "in", [ref for _r, ref in identities]),
                ]
            ).mapped("external_ref")
        )
        self.create(
            [
                {
                    "backend_id": backend.id,
                    "company_id": company.id,
                    "external_ref": ref,
                    "partner_id": partner.id,
                    "match_rule": rule,
                    "sync_date": fields.Datetime.now(),
                }
                for _identity_rule, ref in identities
                if ref not in existing
            ]
        )

    @api.model
    def _partner_values(self, customer, address, company):
        name = " ".join(
            filter(
                None,
                (customer and customer.first_name, customer and customer.last_name),
            )
        )
        return {
            "name": name
            or (address and address.name)
            or (customer and customer.email)
            or self.env._("Channel customer"),
            "email": normalize_email(customer.email if customer else None) or False,
            "phone": (customer and customer.phone) or False,
            "company_id": False,
            "customer_rank": 1,
        }

    @api.model
    def _resolve_addresses(self, partner, billing, shipping):
        """(invoice contact, delivery contact) of `partner` for an order's
        addresses; one address for both (most orders) is looked up once."""
        values = self._address_values(billing) if billing else None
        if shipping != billing:
            values_shipping = self._address_values(shipping) if shipping else None
        else:
            values_shipping = values
        return (
            self._resolve_address(partner, billing, "invoice", values),
            self._resolve_address(partner, shipping, "delivery", values_shipping),
        )

    @api.model
    def _resolve_address(self, partner, address, address_type, values=None):
        """A child contact of `partner` for an address, reused when identical.

        :param values: `_address_values(address)`, when known already
        """
        if not address:
            return partner
        values = values or self._address_values(address)
        domain = [("parent_id", "=", partner.id), ("type", "=", address_type)]
        for contact in self.env["res.partner"].search(domain):
            if all(_same(contact[key], value) for key, value in values.items()):
                return contact
        return self.env["res.partner"].create(
            {**values, "parent_id": partner.id, "type": address_type}
        )

    @api.model
    def _address_values(self, address):
        country = self.env["res.country"].search(
            [("code", "=ilike", address.country_code or "")], limit=1
        )
        state = (
            self.env["res.country.state"].search(
                [
                    ("country_id", "=", country.id),
                    ("code", "=ilike", address.state_code or ""),
                ],
                limit=1,
            )
            if country and address.state_code
            else self.env["res.country.state"]
        )
        return {
            "name": address.name or False,
            "street": address.street or False,
            "street2": address.street2 or False,
            "city": address.city or False,
            "zip": address.zip or False,
            "country_id": country.id or False,
            "state_id": state.id or False,
            "phone": address.phone or False,
        }


def normalize_email(email):
    """Lower-cased, stripped email, or None: one buyer, one key."""
    email = (email or "").strip().lower()
    return email or None


def normalize_phone(phone, calling_code=None):
    """A phone number as "+<country code><number>", or None if too short.

    "+33 6 12-34-56-78", "0033612345678" and, with calling code 33,
    "06 12 34 56 78" are all "+33612345678". Without a leading + or 00 and
    without a calling code, only the digits are kept.
    """
    text = (phone or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 6:
        return None
    if text.startswith("+"):
        return f"+{digits}"
    if digits.startswith("00"):
        return f"+{digits[2:]}"
    if calling_code:
        # A national number: drop the trunk prefix (0 in most countries).
        return f"+{calling_code}{digits.removeprefix('0')}"
    return digits


def _calling_code(country):
    return country.phone_code if country else None


def _same(current, wanted):
    """Compare a partner field to a wanted value, records by id, text loosely."""
    if isinstance(current, models.BaseModel):
        return current.id == (wanted or False)
    return (current or "").strip().lower() == (wanted or "").strip().lower()
