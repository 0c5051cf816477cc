"""19.0.1.3.0: rows jobs updated concurrently become insert-only rows (the
old columns, kept by Odoo when the fields stop being stored, are dropped).

- A stock level's `dirty` flag and `dirty_mark` become one
  `channel_stock_mark` per level that was dirty.
- An exception's `occurrences` counter and `last_seen` become
  `channel_exception_occurrence` rows, one per recurrence, at `last_seen`.

Shopify backends configured with a static token keep using it (new ones
default to the client credentials grant).
"""


def migrate(cr, version):
    migrate_stock_marks(cr)
    migrate_occurrences(cr)
    cr.execute(
        "UPDATE channel_backend SET shopify_auth_method = 'access_token'"
        " WHERE provider = 'shopify' AND shopify_access_token IS NOT NULL"
    )


def _has_column(cr, table, column):
    cr.execute(
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_name = %s AND column_name = %s",
        [table, column],
    )
    return bool(cr.fetchone())


def migrate_stock_marks(cr):
    if not _has_column(cr, "channel_stock_level", "dirty_mark"):
        return
    cr.execute(
        "INSERT INTO channel_stock_mark (level_id)"
        " SELECT id FROM channel_stock_level WHERE dirty"
    )
    cr.execute(
        "ALTER TABLE channel_stock_level DROP COLUMN dirty, DROP COLUMN dirty_mark"
    )


def migrate_occurrences(cr):
    if not _has_column(cr, "channel_exception", "occurrences"):
        return
    cr.execute(
        """
        INSERT INTO channel_exception_occurrence (exception_id, seen_at, name)
        SELECT exception.id, exception.last_seen, exception.name
          FROM channel_exception exception,
               generate_series(2, COALESCE(exception.occurrences, 1))
        """
    )
    cr.execute(
        "ALTER TABLE channel_exception DROP COLUMN occurrences, DROP COLUMN last_seen"
    )
