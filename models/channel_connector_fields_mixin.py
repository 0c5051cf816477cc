from odoo import models
from odoo.exceptions import AccessError

# Inherited by name; importing it also defines the mixin before its heirs.
CONNECTOR_FIELDS_MIXIN = "channel.connector.fields.mixin"


class ChannelConnectorFieldsMixin(models.AbstractModel):
    """Fields only the connector's code writes: refused to any caller but the
    superuser, over RPC as in a form (`readonly=True` protects nothing)."""

    _name = CONNECTOR_FIELDS_MIXIN
    _description = "Channel Connector Fields Mixin"

    # === CRUD METHODS ===

    def write(self, vals):
        """Refuse the guarded fields (`_get_refused_fields`) to non-superusers."""
        if not self.env.su:
            self._check_writable(vals)
        return super().write(vals)

    def _check_writable(self, field_names):
        refused = self._get_refused_fields(field_names)
        if refused:
            raise AccessError(
                self.env._(
                    "These fields of %(model)s are set by the connector and its "
                    "actions only: %(fields)s",
                    model=self._description,
                    fields=", ".join(sorted(refused)),
                )
            )

    def _get_refused_fields(self, field_names):
        """Hook: which of `field_names` the current user may not write."""
        return set()
