import hashlib
import math
import uuid
from collections import Counter, defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from odoo import api, fields, models, sql_db

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.redaction import get_logger
from ..adapters.stock import StockQuantity
from ..adapters.values import outbound
from ..const import JOB_CHANNEL_STOCK, JOB_MAX_RETRIES
from ..sql import queries

_logger = get_logger(__name__)

# A stale compare-and-set is retried from the channel's quantity this often.
STALE_RETRIES = 3
# First key of the advisory lock that lets one stock export per backend run.
STOCK_EXPORT_LOCK = 74_100_001
# Backend settings that change every published quantity.
STOCK_PUBLISHING_FIELDS = frozenset({"stock_safety_buffer", "stock_archived_policy"})
# Levels an export computes at a time: four batches of 250, computed in
# about the time a cost bucket takes to refill for one or two calls.
STOCK_EXPORT_CHUNK = 1000
# Batches computed ahead of the calls under way, at most (flat memory).
STOCK_READY_BATCHES = 8
# Calls handed to the sender's thread at once: the one under way and the
# next, so the channel never waits for the job to record an answer.
SENDER_QUEUE = 2


class ChannelBackend(models.Model):
    """Stock export: Odoo's free quantity, minus a buffer, to each channel
    location, sending only what changed and never a zero Odoo did not mean."""

    _inherit = "channel.backend"

    # === FIELDS ===

    stock_location_mapping_ids = fields.One2many("channel.stock.location", "backend_id")
    stock_safety_buffer = fields.Integer(
        default=0, help="Units held back from every published quantity."
    )
    stock_archived_policy = fields.Selection(
        [("skip", "Do not publish"), ("zero", "Publish 0")],
        string="Archived or unsellable products",
        default="skip",
        required=True,
        help="Products archived, or not sellable (Can be Sold unticked): "
        "publish nothing (a 'stock skipped' exception says so) or publish 0.",
    )
    stock_full_requested = fields.Boolean(
        compute="_compute_run_state",
        help="A full resync was asked for: the next stock export job sends "
        "every quantity.",
    )

    fast_mover_days = fields.Integer(
        string="Fast movers: sold in the last (days)",
        default=7,
        help="Variants delivered to customers within these days, or flagged as "
        "fast movers, are exported a few seconds after they move instead of at "
        "the next interval. 0: only flagged variants.",
    )
    fast_mover_debounce = fields.Integer(
        string="Fast mover delay (s)",
        default=30,
        required=True,
        help="Moves within this delay are sent together in one export.",
    )

    # === CRUD METHODS ===

    def write(self, vals):
        """Override of `channel_connector`: a new buffer or policy changes
        every quantity of the backend, so the next delta export sends them."""
        result = super().write(vals)
        if STOCK_PUBLISHING_FIELDS & set(vals):
            self.env["channel.stock.level"].search(
                [("backend_id", "in", self.ids)]
            )._mark_levels_dirty()
        return result

    # === ACTION METHODS ===

    def action_export_stock_full(self):
        """Resync every quantity now (a job), whatever was sent before."""
        self._check_manager_rights()
        for backend in self:
            backend._enqueue_stock_export(full=True)

    # === BUSINESS METHODS ===

    def _enqueue_stock_export(self, full=False, eta=None):
        """Enqueue the stock export job of this backend: one identity for
        delta, full and fast-mover exports, so at most one is pending.

        A full request is a flag the job reads when it starts, so it is not
        lost when a delta job is already pending: that job becomes full.
        """
        self.ensure_one()
        if full and not self.stock_full_requested:
            self._get_sync_status("stock").full_requested = True
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_STOCK,
            eta=eta,
            identity_key=self._identity_key("stock_export"),
            description=f"Export stock to {self.name}",
        )._job_export_stock()

    def _lock_stock_export(self):
        """Let one stock export of this backend run at a time (a transaction
        advisory lock: released at commit or rollback); another one waits."""
        self.ensure_one()
        if not queries.try_lock(self.env.cr, STOCK_EXPORT_LOCK, self.id):
            raise RetryableJobError(
                "Another stock export of this backend is running",
                seconds=15,
                ignore_retry=True,
            )

    @api.model
    def _schedule_fast_exports(self, flagged):
        """Export soon (after the debounce) where a fast mover just moved.

        :param flagged: [(backend id, product id)] of levels just made dirty
        """
        backends = self.browse({backend_id for backend_id, _product in flagged})
        for backend in backends.filtered(
            lambda b: b.active and b.export_stock and b.state == "connected"
        ):
            products = [p for b, p in flagged if b == backend.id]
            if backend._fast_movers(products):
                backend._enqueue_stock_export(eta=backend.fast_mover_debounce)

    def _fast_movers(self, product_ids):
        """The variants among `product_ids` that are fast movers here."""
        self.ensure_one()
        products = self.env["product.product"].browse(product_ids)
        fast = set(products.filtered("channel_fast_mover").ids)
        if self.fast_mover_days and len(fast) < len(products):
            self.env["stock.move"].flush_model(
                ["product_id", "state", "location_dest_id", "date"]
            )
            fast |= queries.recently_delivered_product_ids(
                self.env.cr, product_ids, self.fast_mover_days
            )
        return fast

    def _sync_stock_levels(self):
        """Create the missing (variant, channel location) rows in one INSERT.

        Only for products of the backend's company or shared ones: a variant
        also bound to a product of a company orders are routed to publishes
        the backend company's stock, once.
        """
        self.ensure_one()
        self.env["channel.product.binding"].flush_model()
        self.env["channel.stock.location"].flush_model()
        queries.create_stock_levels(
            self.env.cr, self.id, self.company_id.id, self.env.uid
        )
        self.env["channel.stock.level"]._invalidate_marks()

    def _prepare_stock_export(self, full=False):
        """Split the levels to look at into (to send, skipped, unchanged).

        :return: ([(level, quantity)], [(level, reason)], levels unchanged)
        """
        return self._plan_stock_export(full=full)[:3]

    def _plan_stock_export(self, full=False):
        """`_prepare_stock_export`, plus the newest mark of every level read
        with the quantities: the export clears only the marks it read.

        Levels of an archived channel location are left out. Every chunk at
        once: the export job streams them instead (`_stream_stock_export`).

        :return: (to send, skipped, unchanged, {level id: newest mark id})
        """
        self.ensure_one()
        self._sync_stock_levels()
        to_send, skipped = [], []
        unchanged, marks = self.env["channel.stock.level"], {}
        for levels in self._stock_level_chunks(full):
            plan = self._plan_stock_chunk(levels, full)
            to_send += plan[0]
            skipped += plan[1]
            unchanged |= plan[2]
            marks.update(plan[3])
        return to_send, skipped, unchanged, marks

    def _stock_level_chunks(self, full):
        """The levels to look at, STOCK_EXPORT_CHUNK at a time in id order:
        each page starts after the last id of the previous one (keyset), so
        the last page costs what the first did, nothing held beyond a page."""
        domain = [("backend_id", "=", self.id), ("stock_location_id.active", "=", True)]
        if not full:
            domain.append(("dirty", "=", True))
        Level = self.env["channel.stock.level"]
        last_id = 0
        while levels := Level.search(
            [*domain, ("id", ">", last_id)], order="id", limit=STOCK_EXPORT_CHUNK
        ):
            last_id = levels[-1].id
            yield levels

    def _plan_stock_chunk(self, levels, full):
        """Split one chunk of levels into (to send, skipped, unchanged, marks),
        marks and quantities read together in two grouped queries."""
        marks = levels._read_marks()
        free = levels._free_quantities()
        # The few template fields the checks read, not its every column.
        levels.product_id.product_tmpl_id.fetch(["sale_ok", "is_storable"])
        to_send, skipped, unchanged = [], [], levels.browse()
        for level in levels:
            reason = self._stock_skip_reason(level, free)
            if reason:
                skipped.append((level, reason))
                continue
            quantity = self._publishable_quantity(level, free[level.id])
            if not full and level.last_sent_at and quantity == level.last_sent_qty:
                unchanged |= level
            else:
                to_send.append((level, quantity))
        return to_send, skipped, unchanged, marks

    def _stock_skip_reason(self, level, free):
        """Why a level must not be published (None: publish it).

        Whatever Odoo cannot state as a quantity is skipped, never sent as 0.
        """
        product = level.product_id
        if self.stock_archived_policy == "skip":
            if not product.active:
                return self.env._("the product is archived")
            if not product.sale_ok:
                return self.env._("the product cannot be sold")
        if not product.is_storable:
            return self.env._("the product is not tracked in stock")
        if level.id not in free:
            return self.env._(
                "channel location %s maps no Odoo location",
                level.stock_location_id.name,
            )
        return self._get_stock_binding_gap(level.product_binding_id)

    def _publishable_quantity(self, level, free_quantity):
        """Free quantity minus the buffer, never below 0; 0 for an archived
        or unsellable product (the "publish 0" policy)."""
        product = level.product_id
        if not (product.active and product.sale_ok):
            return 0
        return max(0, math.floor(free_quantity) - self.stock_safety_buffer)

    def _record_stock_skips(self, skipped):
        Exception_ = self.env["channel.exception"]
        for level, reason in skipped:
            product = level.product_id
            Exception_._record(
                "stock_skipped",
                self.env._(
                    "Stock of %(product)s was not published to %(location)s: "
                    "%(reason)s.",
                    product=product.display_name,
                    location=level.stock_location_id.name,
                    reason=reason,
                ),
                backend=self,
                key=f"stock:{product.id}:{level.stock_location_id.id}",
                documents=[product],
            )

    def _record_stock_refusals(self, refused, marks):
        """Quantities the channel refused for good ([(level, its reason)]):
        an exception each, naming the SKU; their marks read are cleared (a
        new move exports them again), nothing is taken as sent."""
        Exception_ = self.env["channel.exception"]
        for level, message in refused:
            binding = level.product_binding_id
            sku = binding.sku or binding.external_ref
            Exception_._record(
                "stock_skipped",
                self.env._(
                    "%(location)s refused the quantity of SKU %(sku)s "
                    "(%(product)s): %(message)s",
                    location=level.stock_location_id.name,
                    sku=sku,
                    product=level.product_id.display_name,
                    message=message,
                ),
                backend=self,
                key=f"stock-refused:{level.product_id.id}:{level.stock_location_id.id}",
                documents=[level.product_id],
                retry_target=level,
            )
        self.env["channel.stock.level"]._clear_dirty(
            {level.id: marks[level.id] for level, _message in refused}
        )

    def _stock_quantity(self, level, quantity):
        binding = level.product_binding_id
        return StockQuantity(
            variant_ref=outbound(binding.external_ref),
            location_ref=outbound(level.stock_location_id.location_ref),
            quantity=quantity,
            change_from=level.channel_qty if level.has_channel_qty else None,
            product_ref=outbound(binding.product_ref),
            **self._get_stock_quantity_values(binding),
        )

    def _stream_stock_export(self, adapter, token, full):
        """Compute the levels a chunk at a time and send each batch as soon as
        it is full, on the sender's thread (paced by the shared budget), while
        the next chunks are computed here (docs/stock_export.rst, streaming).

        :return: (quantities sent, levels skipped, API calls)
        """
        chunks = self._stock_level_chunks(full)
        batcher = StockBatcher(self, adapter)
        marks, in_flight, totals = {}, deque(), Counter()
        with StockSender(self.env.registry) as sender:
            while True:
                while len(in_flight) < SENDER_QUEUE and batcher.ready:
                    call = batcher.ready.popleft()
                    key = _idempotency_key(self.id, token, call.quantities)
                    future = sender.submit(adapter.push_stock, call.quantities, key)
                    in_flight.append((call, future))
                    totals["calls"] += 1
                if batcher.wants_chunk():
                    levels = next(chunks, None)
                    if levels is None:
                        batcher.close()
                    else:
                        totals["skipped"] += self._take_stock_chunk(
                            levels, full, batcher, marks
                        )
                    continue
                if not in_flight:
                    return totals["sent"], totals["skipped"], totals["calls"]
                call, future = in_flight.popleft()
                retry = self._apply_stock_results(call, future.result(), marks)
                totals["sent"] += (
                    len(call.items) - call.refused - (len(retry.items) if retry else 0)
                )
                if retry:
                    batcher.ready.appendleft(retry)

    def _take_stock_chunk(self, levels, full, batcher, marks):
        """Plan one chunk: record its skips, clear the marks of its unchanged
        levels, queue what it sends; the cache of the chunks before is
        dropped (flushed first), so memory stays that of a chunk.

        :return: how many levels were skipped
        """
        self.env.invalidate_all()
        to_send, skipped, unchanged, chunk_marks = self._plan_stock_chunk(levels, full)
        self._record_stock_skips(skipped)
        self.env["channel.stock.level"]._clear_dirty(
            {level.id: chunk_marks[level.id] for level in unchanged}
        )
        marks.update((level.id, chunk_marks[level.id]) for level, _qty in to_send)
        batcher.add(to_send)
        return len(skipped)

    def _apply_stock_results(self, call, results, marks):
        """Record what one `push_stock` call did; stale items are retried
        from the channel's quantity (at most STALE_RETRIES times).

        A stale item the channel already holds at the quantity we want (our
        own earlier write, e.g. before a job retry rolled back its record) is
        taken as sent without writing it again.

        :param call: the `StockCall` sent
        :param marks: {level id: newest mark id} read with the quantities;
            the entries of the levels sent are removed
        :return: the `StockCall` retrying the stale items, None if none
        """
        by_quantity = {result.quantity: result for result in results}
        applied, stale, refused = [], [], []
        for (level, qty), quantity in zip(call.items, call.quantities, strict=True):
            result = by_quantity[quantity]
            if result.refused:
                refused.append((level, result.message))
            elif result.applied or result.channel_quantity == qty:
                applied.append((level, qty))
            else:
                level.write(
                    {
                        "channel_qty": result.channel_quantity or 0,
                        "has_channel_qty": result.channel_quantity is not None,
                    }
                )
                stale.append((level, qty))
        self._mark_sent(applied, marks)
        self._record_stock_refusals(refused, marks)
        call.refused = len(refused)
        for level in [level for level, _qty in applied] + [r[0] for r in refused]:
            del marks[level.id]
        if not stale:
            return None
        if call.attempt > STALE_RETRIES:
            raise RetryableJobError(
                f"{len(stale)} quantities kept changing on the channel", seconds=60
            )
        quantities = [self._stock_quantity(level, qty) for level, qty in stale]
        return StockCall(stale, quantities, call.attempt + 1)

    def _mark_sent(self, sent, marks):
        """Stamp what was sent: one write per distinct quantity, so a batch
        costs a few UPDATEs rather than one per level; then delete the marks
        read with the quantities (`marks`), not those added since."""
        now = fields.Datetime.now()
        level_ids_by_quantity = defaultdict(list)
        for level, quantity in sent:
            level_ids_by_quantity[quantity].append(level.id)
        Level = self.env["channel.stock.level"]
        for quantity, level_ids in level_ids_by_quantity.items():
            Level.browse(level_ids).write(
                {
                    "last_sent_qty": quantity,
                    "last_sent_at": now,
                    "channel_qty": quantity,
                    "has_channel_qty": True,
                }
            )
        Level._clear_dirty({level.id: marks[level.id] for level, _qty in sent})

    # === JOBS ===

    def _job_export_stock(self, full=False):
        """Job (stock channel): publish changed quantities in channel-sized batches.

        One runs per backend at a time (`_lock_stock_export`); a full resync
        asked for meanwhile (`stock_full_requested`) makes it send everything.

        Throttling (THROTTLED, 429) the adapter could not wait out in place
        retries the job without counting the retry: it can never exhaust the
        job's retries. Other transient errors (5xx, timeouts) count.

        Retries redo the work already done, on purpose (no commit inside a
        job). queue_job rolls the attempt back, so the batches already sent
        are sent again, and that is harmless: a batch with the same content
        in the same job has the same idempotency key, so a channel that honours
        it replays its first answer and applies nothing twice; if the
        quantities moved since, a compare-and-set refuses the write, the
        channel's figures are read, and levels it already holds at our
        quantity are not written again. Absolute writes just set the same.
        """
        self.ensure_one()
        if not (self.active and self.export_stock and self.state == "connected"):
            return "skipped: stock export is off or the backend is not connected"
        self._lock_stock_export()
        full_requested = self.stock_full_requested
        self._sync_stock_levels()
        adapter = self._get_adapter(priority="stock")
        token = self.env.context.get("job_uuid") or uuid.uuid4().hex
        with self._map_channel_errors(delay=30):
            sent, skipped, calls = self._stream_stock_export(
                adapter, token, full or full_requested
            )
        if full_requested:
            self._get_sync_status("stock").full_requested = False
        self._mark_flow_success("stock")
        return f"sent {sent} in {calls} calls, skipped {skipped}"

    @api.model
    def _cron_resync_stock(self):
        """Cron (nightly): send every quantity again, whatever was sent."""
        backends = self.search(
            [("export_stock", "=", True), ("state", "=", "connected")]
        )
        for backend in backends.filtered("supports_stock_export"):
            backend._enqueue_stock_export(full=True)
        self.env["channel.stock.mark"]._compact(exporting=backends)

    @api.model
    def _cron_export_stock(self):
        """Cron: enqueue a delta export for each backend whose interval is due."""
        now = fields.Datetime.now()
        backends = self.search(
            [("export_stock", "=", True), ("state", "=", "connected")]
        )
        for backend in backends.filtered("supports_stock_export"):
            last = backend.last_sync_stock
            if (
                not last
                or (now - last).total_seconds() >= backend.stock_export_interval * 60
            ):
                backend._enqueue_stock_export()


def _idempotency_key(backend_id, token, quantities):
    """The key of one write: the export attempt (`token`, the job's uuid,
    the same across the job's retries) and the batch's content.

    A retry of the same batch reuses its key, so the channel replays the
    first answer instead of applying it twice; a later export with the same
    content is another job, so another key: it is applied, not replayed.
    """
    digest = hashlib.sha256(
        repr(
            [
                token,
                [
                    (q.inventory_item_ref, q.location_ref, q.quantity, q.change_from)
                    for q in quantities
                ],
            ]
        ).encode()
    ).hexdigest()[:32]
    return f"cc-{backend_id}-{digest}"


@dataclass
class StockCall:
    """One `push_stock` call: [(level, quantity)], their `StockQuantity`s
    (built when the batch was cut, sent as they are) and which attempt of
    these items it is (stale ones are sent again)."""

    items: list
    quantities: list
    attempt: int = 1
    # How many of its items the channel refused (set once answered).
    refused: int = 0


class StockBatcher:
    """Quantities of an export in `push_stock` calls: grouped by the
    adapter's endpoint (`stock_batch_group`), a group's batch queued in
    `ready` as soon as it is full, the partial ones when `close`d; so k
    quantities of one endpoint cost ceil(k / size) calls however the export
    is chunked."""

    def __init__(self, backend, adapter):
        self.backend = backend
        self.adapter = adapter
        self.size = adapter.stock_batch_size
        self.groups = {}
        self.ready = deque()
        self.closed = False

    def add(self, to_send):
        """Queue [(level, quantity)]."""
        for level, quantity in to_send:
            stock_quantity = self.backend._stock_quantity(level, quantity)
            group = self.groups.setdefault(
                self.adapter.stock_batch_group(stock_quantity), StockCall([], [])
            )
            group.items.append((level, quantity))
            group.quantities.append(stock_quantity)
            if len(group.items) == self.size:
                self.ready.append(StockCall(group.items, group.quantities))
                group.items, group.quantities = [], []

    def close(self):
        """No more quantities: queue the partial batches."""
        self.ready.extend(group for group in self.groups.values() if group.items)
        self.groups = {}
        self.closed = True

    def wants_chunk(self):
        """Whether to compute the next chunk now: not all computed yet, and
        fewer than STOCK_READY_BATCHES batches wait to be sent."""
        return not self.closed and len(self.ready) < STOCK_READY_BATCHES


class StockSender:
    """Runs an export's channel calls on a thread of its own, one at a time
    and in order, while the job's thread computes the next chunks. The ORM
    and the job's cursor stay on the job's thread: the adapter is ORM-free,
    its budget and tokens use cursors of their own. In test mode those
    cursors share the test's connection, which two threads must never use
    at once: the calls then run inline, in the same order."""

    def __init__(self, registry):
        self.executor = None
        if self._own_cursors(registry):
            self.executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="channel_stock_sender"
            )

    @staticmethod
    def _own_cursors(registry):
        """Whether the registry's new cursors are connections of their own
        (in test mode they wrap the test's cursor)."""
        with registry.cursor() as cr:
            return isinstance(cr, sql_db.Cursor)

    def submit(self, function, *args):
        """Run `function(*args)` after the calls submitted before: a Future."""
        if self.executor:
            return self.executor.submit(function, *args)
        future = Future()
        try:
            future.set_result(function(*args))
        except Exception as exc:  # noqa: BLE001 - raised by future.result()
            future.set_exception(exc)
        return future

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        """Calls not started are cancelled (the job failed); the running one
        ends within its deadline."""
        if self.executor:
            self.executor.shutdown(wait=True, cancel_futures=True)
