"""Every hand-written query of channel_connector, each saying why it is not
ORM code (concurrency, ON CONFLICT, bulk, a lock). Functions take a cursor
and plain values; tests/test_sql_equivalence.py checks each against the ORM.
"""

from odoo.tools import SQL

# Contacts' phone digits reversed: "ends with" becomes an indexed prefix search.
PHONE_DIGITS_REVERSED = "reverse(regexp_replace(phone, '[^0-9]', '', 'g'))"

# === TRANSACTIONS AND LOCKS ===


def set_read_committed(cr):
    """Go on READ COMMITTED; raw SQL: the ORM has no isolation level."""
    cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")


def set_async_commit(cr):
    """Let this transaction's commit return before its WAL reaches the disk;
    raw SQL: the ORM has no commit settings. For rows whose last write may be
    lost in a crash (a rate-limit measure: the next answer states it again)."""
    cr.execute("SET LOCAL synchronous_commit TO OFF")


def _lock_arguments(key):
    """Placeholders of an advisory lock key: one bigint or two ints."""
    return ", ".join(["%s::bigint"] if len(key) == 1 else ["%s"] * len(key))


def try_lock(cr, *key):
    """Whether this transaction got the advisory lock `key` (one bigint or two
    ints), held until it ends; raw SQL: the ORM has no advisory locks."""
    cr.execute(f"SELECT pg_try_advisory_xact_lock({_lock_arguments(key)})", key)
    return cr.fetchone()[0]


def wait_lock(cr, *key):
    """Wait for the advisory lock `key` (one bigint or two ints), held until
    the transaction ends; raw SQL: the ORM has no advisory locks."""
    cr.execute(f"SELECT pg_advisory_xact_lock({_lock_arguments(key)})", key)


# === EVENTS ===


def insert_event(cr, values):
    """Id of the event row inserted from `values`, None if (backend, key) is
    taken; raw SQL: ON CONFLICT settles concurrent twins in one round trip."""
    cr.execute(
        """
        INSERT INTO channel_event
               (backend_id, provider, company_id, topic, flow, dedupe_key,
                delivery_id, resource_ref, channel_timestamp, received_at,
                raw_body, headers, state, queued_at, error, attempts,
                duplicates_prevented, create_uid, create_date, write_uid,
                write_date)
        VALUES (%(backend)s, %(provider)s, %(company)s, %(topic)s, %(flow)s,
                %(key)s, %(delivery)s, %(resource)s, %(timestamp)s, %(now)s,
                %(body)s, %(headers)s, %(state)s, %(queued_at)s, %(error)s,
                0, 0, %(uid)s, %(now)s, %(uid)s, %(now)s)
        ON CONFLICT (backend_id, dedupe_key) DO NOTHING
        RETURNING id
        """,
        values,
    )
    row = cr.fetchone()
    return row[0] if row else None


def insert_joining_event(cr, values, join):
    """`insert_event` that also joins a waiting event, in the same statement:
    (id of the row, None if (backend, key) is taken; id of the event joined,
    None if none). raw SQL: ON CONFLICT, and row locks the ORM has not.

    :param join: {"flow", optionally "resource" and "topics"}: the new event
        joins the oldest queued event of the backend that matches, has a job
        of its own and is not locked by that running job (docs/webhooks.rst,
        *Coalescing*). It is locked SKIP LOCKED (a running job is never waited
        for: the delivery then gets a job of its own) and given a new row
        version, so that a job whose snapshot is older than this join fails
        to lock it (`lock_event`) and runs again to see the delivery.
    """
    conditions = [SQL("head.backend_id = %s", values["backend"])]
    conditions.append(SQL("head.flow = %s", join["flow"]))
    if join.get("resource"):
        conditions.append(SQL("head.resource_ref = %s", join["resource"]))
    if join.get("topics"):
        conditions.append(SQL("head.topic = ANY(%s)", list(join["topics"])))
    query = SQL(
        """
        WITH head AS (
            SELECT head.id FROM channel_event head
             WHERE %(conditions)s
               AND head.state = 'queued' AND head.joined_event_id IS NULL
             ORDER BY head.id
             LIMIT 1
               FOR UPDATE SKIP LOCKED
        ), touched AS (
            UPDATE channel_event event SET state = 'queued'
              FROM head WHERE event.id = head.id
         RETURNING event.id
        )
        INSERT INTO channel_event
               (backend_id, provider, company_id, topic, flow, dedupe_key,
                delivery_id, resource_ref, channel_timestamp, received_at,
                raw_body, headers, state, queued_at, error, attempts,
                duplicates_prevented, create_uid, create_date, write_uid,
                write_date, joined_event_id)
        VALUES (%(backend)s, %(provider)s, %(company)s, %(topic)s, %(flow)s,
                %(key)s, %(delivery)s, %(resource)s, %(timestamp)s, %(now)s,
                %(body)s, %(headers)s, %(state)s, %(queued_at)s, %(error)s,
                0, 0, %(uid)s, %(now)s, %(uid)s, %(now)s,
                (SELECT id FROM touched))
        ON CONFLICT (backend_id, dedupe_key) DO NOTHING
        RETURNING id, joined_event_id
        """,
        conditions=SQL(" AND ").join(conditions),
        **{
            name: values[name]
            for name in (
                *("backend", "provider", "company", "topic", "flow", "key"),
                *("delivery", "resource", "timestamp", "now", "body", "headers"),
                *("state", "queued_at", "error", "uid"),
            )
        },
    )
    cr.execute(query)
    row = cr.fetchone()
    return (row[0], row[1]) if row else (None, None)


def lock_event(cr, event_id):
    """Lock an event row until the transaction ends; raw SQL: the ORM has no
    row locks. Under REPEATABLE READ it raises a serialization failure when a
    delivery joined the event after this transaction's snapshot."""
    cr.execute("SELECT id FROM channel_event WHERE id = %s FOR UPDATE", [event_id])


def count_duplicate(cr, backend_id, dedupe_key):
    """Id of the event whose duplicate count went up, None if none; raw SQL:
    an in-place increment loses no count to a concurrent one."""
    cr.execute(
        """UPDATE channel_event
              SET duplicates_prevented = COALESCE(duplicates_prevented, 0) + 1
            WHERE backend_id = %s AND dedupe_key = %s
        RETURNING id""",
        [backend_id, dedupe_key],
    )
    row = cr.fetchone()
    return row[0] if row else None


def malformed_matching(cr, backend_id, pattern, after_id, limit):
    """[(id, whether its body matches `pattern`)] of the next `limit` malformed
    events of a backend after `after_id`; raw SQL: bodies are matched in the
    database, a batch at a time, never loaded into Python."""
    cr.execute(
        """
        SELECT id,
               convert_from(
                   decode(encode(raw_body, 'escape'), 'base64'), 'LATIN1'
               ) ~* %(pattern)s
          FROM channel_event
         WHERE backend_id = %(backend)s
           AND dedupe_key LIKE 'malformed:%%'
           AND id > %(after)s
         ORDER BY id
         LIMIT %(limit)s
        """,
        {"backend": backend_id, "pattern": pattern, "after": after_id, "limit": limit},
    )
    return cr.fetchall()


def stuck_event_ids(cr, queued_before, waiting_states, limit):
    """Ids of `queued` events queued before `queued_before` with no job in
    `waiting_states` (neither theirs nor that of the event they joined),
    oldest first; raw SQL: NOT EXISTS in one bounded query,
    so a backlog of waiting events never hides the stuck ones."""
    cr.execute(
        """
        SELECT event.id
          FROM channel_event event
         WHERE event.state = 'queued'
           AND event.queued_at < %(before)s
           AND NOT EXISTS (
                SELECT 1 FROM queue_job job
                 WHERE job.channel_event_id IN (event.id, event.joined_event_id)
                   AND job.state IN %(waiting)s)
         ORDER BY event.queued_at, event.id
         LIMIT %(limit)s
        """,
        {"before": queued_before, "waiting": tuple(waiting_states), "limit": limit},
    )
    return [row[0] for row in cr.fetchall()]


def purgeable_event_ids(cr, *, now, settled, open_states, unhandled, kept_since, limit):
    """Ids of at most `limit` events past their backend's retention that may
    go (see `channel.event._get_purgeable_ids`); raw SQL: a per-row interval
    from the backend and EXISTS tests in one bounded query."""
    cr.execute(
        """
        SELECT event.id
          FROM channel_event event
          JOIN channel_backend backend ON backend.id = event.backend_id
         WHERE event.received_at
               < %(now)s - make_interval(days => backend.event_retention_days)
           AND (
                event.state IN %(settled)s
                OR (event.state = 'received'
                    AND COALESCE(event.flow, '') = ANY(%(unhandled)s))
                OR (event.state = 'failed'
                    AND EXISTS (
                        SELECT 1 FROM channel_exception exception
                         WHERE exception.retry_model = 'channel.event'
                           AND exception.retry_res_id = event.id)
                    AND NOT EXISTS (
                        SELECT 1 FROM channel_exception exception
                         WHERE exception.retry_model = 'channel.event'
                           AND exception.retry_res_id = event.id
                           AND exception.state IN %(open)s))
           )
           AND NOT EXISTS (
                SELECT 1 FROM channel_event_correction correction
                 WHERE correction.event_id = event.id
                   AND correction.create_date >= %(kept_since)s)
         ORDER BY event.id
         LIMIT %(limit)s
        """,
        {
            "now": now,
            "settled": tuple(settled),
            "open": tuple(open_states),
            "unhandled": list(unhandled),
            "kept_since": kept_since,
            "limit": limit,
        },
    )
    return [row[0] for row in cr.fetchall()]


def stale_received_flows(cr, now):
    """Flows ('' for none) of the `received` events past their backend's
    retention; raw SQL: a per-row interval from the backend."""
    cr.execute(
        """
        SELECT DISTINCT COALESCE(event.flow, '')
          FROM channel_event event
          JOIN channel_backend backend ON backend.id = event.backend_id
         WHERE event.state = 'received'
           AND event.received_at
               < %s - make_interval(days => backend.event_retention_days)
        """,
        [now],
    )
    return [row[0] for row in cr.fetchall()]


# === JOBS ===


def insert_row(cr, table, column_names, column_values):
    """Insert one row of converted column values; return its id. Raw SQL:
    the webhook request writes its job row in one statement (the test
    `test_inserted_job_row_equals_the_orm_row` compares it with the ORM's)."""
    cr.execute(
        SQL(
            "INSERT INTO %s (%s) VALUES %s RETURNING id",
            SQL.identifier(table),
            SQL(", ").join(SQL.identifier(name) for name in column_names),
            tuple(column_values),
        )
    )
    return cr.fetchone()[0]


# === PARTNERS ===


def phone_candidates_query(company_id, digits_tail):
    """Commercial contacts of the company (or shared) whose phone digits end
    with `digits_tail`; raw SQL: it goes through the reversed-digits index."""
    return SQL(
        """SELECT id FROM res_partner
            WHERE parent_id IS NULL AND phone IS NOT NULL AND active
              AND (company_id IS NULL OR company_id = %s)
              AND %s LIKE %s
            ORDER BY id""",
        company_id,
        SQL(PHONE_DIGITS_REVERSED),
        digits_tail[::-1] + "%",
    )


def phone_candidate_ids(cr, company_id, digits_tail):
    """Ids the `phone_candidates_query` finds."""
    cr.execute(phone_candidates_query(company_id, digits_tail))
    return [row[0] for row in cr.fetchall()]


# === RUN STATE ===


def stamp_last_run(cr, status_ids, moment):
    """Move the last run forward on the status rows nobody holds; raw SQL:
    SKIP LOCKED, and FOR NO KEY UPDATE, not FOR UPDATE (a row locked FOR
    UPDATE then updated counts as a key change, failing the foreign-key
    checks of concurrent repeatable-read inserts referencing it)."""
    cr.execute(
        SQL(
            """
            UPDATE channel_sync_status
               SET last_run_at = GREATEST(last_run_at, %(moment)s)
             WHERE id IN (SELECT id FROM channel_sync_status
                           WHERE id = ANY(%(ids)s) FOR NO KEY UPDATE SKIP LOCKED)
            """,
            moment=moment,
            ids=list(status_ids),
        )
    )


# === RATE-LIMIT BUDGET ===


def budget_report(cr, backend_id, *, maximum, available, restore_rate, measured_at):
    """Store the bucket a channel reported for an account; raw SQL: an upsert
    on a cursor of its own, the last of concurrent reports winning."""
    cr.execute(
        """
        INSERT INTO channel_api_budget
               (backend_id, company_id, maximum, available, restore_rate,
                measured_at, create_date, write_date)
        SELECT id, company_id, %(max)s, %(available)s, %(rate)s, %(at)s,
               now() at time zone 'utc', now() at time zone 'utc'
          FROM channel_backend WHERE id = %(backend)s
        ON CONFLICT (backend_id) DO UPDATE
           SET maximum = EXCLUDED.maximum, available = EXCLUDED.available,
               restore_rate = EXCLUDED.restore_rate,
               measured_at = EXCLUDED.measured_at,
               write_date = EXCLUDED.write_date
        """,
        {
            "backend": backend_id,
            "max": maximum,
            "available": available,
            "rate": restore_rate,
            "at": measured_at,
        },
    )


def budget_block(cr, backend_id, until):
    """Block an account until `until` (epoch seconds), never earlier than a
    block already set; raw SQL: an upsert keeping the later of two blocks."""
    cr.execute(
        """
        INSERT INTO channel_api_budget
               (backend_id, company_id, blocked_until, create_date, write_date)
        SELECT id, company_id, %(until)s,
               now() at time zone 'utc', now() at time zone 'utc'
          FROM channel_backend WHERE id = %(backend)s
        ON CONFLICT (backend_id) DO UPDATE
           SET blocked_until = GREATEST(
                   channel_api_budget.blocked_until, EXCLUDED.blocked_until
               ),
               write_date = EXCLUDED.write_date
        """,
        {"backend": backend_id, "until": until},
    )


def budget_read(cr, backend_id, lock=False):
    """(maximum, available, restore_rate, measured_at, blocked_until) of an
    account, None if unknown; `lock`: the row stays locked until the cursor
    ends (a worker taking its turn); raw SQL: read on a cursor with no
    environment."""
    cr.execute(
        "SELECT maximum, available, restore_rate, measured_at, blocked_until"
        " FROM channel_api_budget WHERE backend_id = %s"
        + (" FOR NO KEY UPDATE" if lock else ""),
        [backend_id],
    )
    return cr.fetchone()


def budget_take(cr, backend_id, available, measured_at):
    """Set what the account's bucket will hold once a worker's call, due at
    `measured_at`, has taken its points; raw SQL: written on the cursor that
    locked the row (`budget_read(lock=True)`), with no environment."""
    cr.execute(
        "UPDATE channel_api_budget SET available = %s, measured_at = %s"
        " WHERE backend_id = %s",
        [available, measured_at, backend_id],
    )


# === ACCESS TOKENS ===


def store_token(cr, backend_id, token, scope, expires_at):
    """Store an account's API token; raw SQL: an upsert on the shared cursor
    of a renewal, which holds the renewal lock."""
    cr.execute(
        """
        INSERT INTO channel_access_token
               (backend_id, token, scope, expires_at, create_date, write_date)
        SELECT id, %(token)s, %(scope)s, %(expires)s,
               now() at time zone 'utc', now() at time zone 'utc'
          FROM channel_backend WHERE id = %(backend)s
        ON CONFLICT (backend_id) DO UPDATE
           SET token = EXCLUDED.token, scope = EXCLUDED.scope,
               expires_at = EXCLUDED.expires_at,
               write_date = EXCLUDED.write_date
        """,
        {"backend": backend_id, "token": token, "scope": scope, "expires": expires_at},
    )


def read_token(cr, backend_id):
    """(token, expires_at) of an account, None if none; raw SQL: read on a
    cursor with no environment."""
    cr.execute(
        "SELECT token, expires_at FROM channel_access_token WHERE backend_id = %s",
        [backend_id],
    )
    return cr.fetchone()


# === STOCK ===


def recently_delivered_product_ids(cr, product_ids, days):
    """Those of `product_ids` delivered to a customer in the last `days` days;
    raw SQL: one DISTINCT query on every quant change of a fast-mover check."""
    cr.execute(
        """
        SELECT DISTINCT move.product_id
          FROM stock_move move
          JOIN stock_location dest ON dest.id = move.location_dest_id
         WHERE move.product_id = ANY(%s) AND move.state = 'done'
           AND dest.usage = 'customer'
           AND move.date >= now() at time zone 'utc' - %s * interval '1 day'
        """,
        [list(product_ids), days],
    )
    return {row[0] for row in cr.fetchall()}


def create_stock_levels(cr, backend_id, company_id, uid):
    """Create the missing (variant, channel location) levels of a backend,
    each with a mark; raw SQL: bulk INSERT ... ON CONFLICT DO NOTHING."""
    cr.execute(
        """
        WITH created AS (
            INSERT INTO channel_stock_level
                   (backend_id, company_id, product_id, stock_location_id,
                    product_binding_id, create_uid, create_date, write_uid,
                    write_date)
            SELECT binding.backend_id, %(company)s, binding.product_id, loc.id,
                   binding.id, %(uid)s, now() at time zone 'utc',
                   %(uid)s, now() at time zone 'utc'
              FROM channel_product_binding binding
              JOIN channel_stock_location loc
                ON loc.backend_id = binding.backend_id AND loc.active
              JOIN product_product product ON product.id = binding.product_id
              JOIN product_template template
                ON template.id = product.product_tmpl_id
             WHERE binding.backend_id = %(backend)s
               AND (template.company_id IS NULL
                    OR template.company_id = %(company)s)
            ON CONFLICT (backend_id, product_id, stock_location_id) DO NOTHING
            RETURNING id
        )
        INSERT INTO channel_stock_mark (level_id) SELECT id FROM created
        """,
        {"company": company_id, "uid": uid, "backend": backend_id},
    )


def mark_product_levels(cr, product_ids):
    """Mark every level of these variants; return [(backend id, product id)]
    of the levels that had no mark; raw SQL: insert-only, in one statement,
    so concurrent jobs moving one variant never contend."""
    cr.execute(
        """
        WITH level AS (
            SELECT id, backend_id, product_id FROM channel_stock_level
             WHERE product_id = ANY(%s)
        ), marked AS (
            INSERT INTO channel_stock_mark (level_id)
            SELECT id FROM level RETURNING level_id
        )
        SELECT level.backend_id, level.product_id FROM level
         WHERE NOT EXISTS (
               SELECT 1 FROM channel_stock_mark mark WHERE mark.level_id = level.id)
        """,
        [list(product_ids)],
    )
    # The SELECT does not see the CTE's inserts: these levels had no mark.
    return cr.fetchall()


def insert_marks(cr, level_ids):
    """One mark per level id; raw SQL: one bulk INSERT, insert-only."""
    cr.execute(
        "INSERT INTO channel_stock_mark (level_id) SELECT unnest(%s::int[])",
        [list(level_ids)],
    )


def newest_marks(cr, level_ids):
    """{level id: newest mark id} of the marked levels among `level_ids`; raw
    SQL: one grouped query read right before the quantities."""
    cr.execute(
        "SELECT level_id, MAX(id) FROM channel_stock_mark"
        " WHERE level_id = ANY(%s) GROUP BY level_id",
        [list(level_ids)],
    )
    return dict(cr.fetchall())


def delete_marks_read(cr, marks):
    """Delete the marks up to the newest one read per level ({level id: mark
    id}); raw SQL: one bulk DELETE that spares marks added since."""
    cr.execute(
        """
        DELETE FROM channel_stock_mark mark
         USING unnest(%s::int[], %s::int[]) AS seen(id, mark)
         WHERE mark.level_id = seen.id AND mark.id <= seen.mark
        """,
        [list(marks), list(marks.values())],
    )


def compact_marks(cr, exporting_backend_ids):
    """Keep one mark per level of the backends not exporting; raw SQL: one
    bulk DELETE of the older marks."""
    cr.execute(
        """
        DELETE FROM channel_stock_mark mark
         USING channel_stock_level level
         WHERE level.id = mark.level_id
           AND NOT level.backend_id = ANY(%s)
           AND mark.id < (SELECT MAX(newest.id) FROM channel_stock_mark newest
                           WHERE newest.level_id = mark.level_id)
        """,
        [list(exporting_backend_ids)],
    )


def free_quantities(cr, level_ids):
    """{level id: free quantity (on hand - reserved)} over each level's mapped
    internal locations and their children, each location counted once; raw
    SQL: one grouped query for thousands of levels."""
    cr.execute(
        """
        WITH level_location AS (
            SELECT DISTINCT level.id AS level_id, level.product_id,
                   loc.id AS location_id
              FROM channel_stock_level level
              JOIN channel_stock_location_stock_location_rel rel
                ON rel.channel_stock_location_id = level.stock_location_id
              JOIN stock_location root ON root.id = rel.stock_location_id
              JOIN stock_location loc
                ON loc.parent_path LIKE root.parent_path || '%%'
               AND loc.usage = 'internal'
             WHERE level.id = ANY(%s)
        )
        SELECT ll.level_id,
               COALESCE(SUM(quant.quantity - quant.reserved_quantity), 0)
          FROM level_location ll
     LEFT JOIN stock_quant quant
            ON quant.location_id = ll.location_id
           AND quant.product_id = ll.product_id
      GROUP BY ll.level_id
        """,
        [list(level_ids)],
    )
    return dict(cr.fetchall())


# === MIGRATIONS ===


def retarget_jobs(cr, model, method, where, records=None):
    """Make the queue_job rows matching `where` run `model`.`method`; raw
    SQL: a migration moves jobs whose old method the new code lacks."""
    cr.execute(
        SQL(
            """UPDATE queue_job job
                  SET model_name = %(model)s,
                      method_name = %(method)s,
                      channel_method_name = %(channel_method)s,
                      records = %(records)s,
                      job_function_id = (
                          SELECT function.id
                            FROM queue_job_function function
                            JOIN ir_model model ON model.id = function.model_id
                           WHERE model.model = %(model)s
                             AND function.method = %(method)s)
                WHERE %(where)s""",
            model=model,
            method=method,
            channel_method=f"<{model}>.{method}",
            records=records or SQL("job.records"),
            where=where,
        )
    )


def insert_listing_marks(cr, listing_ids):
    """One catalogue mark per listing id; raw SQL: one bulk INSERT, never an
    UPDATE of the listing a publishing job may be acknowledging."""
    cr.execute(
        "INSERT INTO channel_product_listing_mark (listing_id)"
        " SELECT unnest(%s::int[])",
        [list(listing_ids)],
    )


def newest_listing_marks(cr, listing_ids):
    """{listing id: newest mark id} of the marked listings among
    `listing_ids`; raw SQL: one grouped query, read before the products."""
    cr.execute(
        "SELECT listing_id, MAX(id) FROM channel_product_listing_mark"
        " WHERE listing_id = ANY(%s) GROUP BY listing_id",
        [list(listing_ids)],
    )
    return dict(cr.fetchall())


def delete_listing_marks_read(cr, marks):
    """Delete the marks up to the newest one read per listing ({listing id:
    mark id}); raw SQL: one bulk DELETE that spares marks added since."""
    cr.execute(
        """
        DELETE FROM channel_product_listing_mark mark
         USING unnest(%s::int[], %s::int[]) AS seen(id, mark)
         WHERE mark.listing_id = seen.id AND mark.id <= seen.mark
        """,
        [list(marks), list(marks.values())],
    )
