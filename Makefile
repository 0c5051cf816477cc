# The two commands of README.rst. Everything else lives in tools/devctl.py.
PYTHON ?= python3

.PHONY: run test

run:
	$(PYTHON) tools/devctl.py run

test:
	$(PYTHON) tools/devctl.py test

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
