"""19.0.1.3.0: a stock level's `dirty` flag and `dirty_mark` counter (columns
Odoo keeps when the fields go) become `channel_stock_mark` rows: one mark per
level that was dirty, then the columns are dropped."""


def migrate(cr, version):
    cr.execute(
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_name = 'channel_stock_level' AND column_name = 'dirty_mark'"
    )
    if not cr.fetchone():
        return
    cr.execute(
        "INSERT INTO channel_stock_mark (level_id)"
        " SELECT id FROM channel_stock_level WHERE dirty"
    )
    cr.execute(
        "ALTER TABLE channel_stock_level DROP COLUMN dirty, DROP COLUMN dirty_mark"
    )
