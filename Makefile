# The commands of README.rst. Everything else lives in tools/devctl.py.
PYTHON ?= python3

.PHONY: run test wheel pot

run:
	$(PYTHON) tools/devctl.py run

test:
	$(PYTHON) tools/devctl.py test

# The addon's wheel, into .build/dist (README.rst, "Installing from a wheel").
wheel:
	$(PYTHON) tools/devctl.py wheel

# i18n/channel_connector.pot from Odoo's own export, merged into i18n/*.po.
pot:
	$(PYTHON) tools/devctl.py pot

# Faults injected into a running Odoo (README.rst, "Reliability"); ends with
# a summary line and fails when anything is lost or duplicated.
.PHONY: reliability
reliability:
	$(PYTHON) tools/devctl.py reliability $(RELIABILITY_OPTIONS)

# Benchmarks (README.rst, "Benchmarks"): print figures, not pass/fail.
.PHONY: bench-webhooks
bench-webhooks:
	$(PYTHON) tools/devctl.py bench webhook_ack

.PHONY: bench-stock
bench-stock:
	$(PYTHON) tools/devctl.py bench stock_export

.PHONY: bench-orders
bench-orders:
	$(PYTHON) tools/devctl.py bench order_import

.PHONY: bench-e2e
bench-e2e:
	$(PYTHON) tools/devctl.py bench end_to_end

.PHONY: bench-backfill
bench-backfill:
	$(PYTHON) tools/devctl.py bench backfill

.PHONY: bench-catalogue
bench-catalogue:
	$(PYTHON) tools/devctl.py bench catalogue_publish
