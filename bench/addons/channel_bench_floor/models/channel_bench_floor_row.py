from odoo import fields, models


class ChannelBenchFloorRow(models.Model):
    """One stored delivery of the benchmark floor route (its table only)."""

    _name = "channel.bench.floor.row"
    _description = "Benchmark Floor Row"
    _order = "id"

    body = fields.Binary(attachment=False)
