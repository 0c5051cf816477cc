"""Fixtures: a simulator on a fake clock, and a webhook receiver on loopback."""

import pytest

from simulator import ChannelSimulator
from simulator.testing import FakeClock, Receiver


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_sim(clock):
    """Started simulators (6 variants, 5 in stock), stopped after the test."""
    started = []

    def make(**options):
        options = {
            "seed": 7,
            "clock": clock,
            "retry_time_scale": 0.0005,
            "webhook_timeout": 0.5,
            **options,
        }
        simulator = ChannelSimulator(**options).start()
        started.append(simulator)
        simulator.scenario.seed_catalogue(count=6, quantity=5, max_variants=2)
        return simulator

    yield make
    for simulator in started:
        simulator.stop()


@pytest.fixture
def sim(make_sim):
    return make_sim()


@pytest.fixture
def small_sim(make_sim):
    """A 100-point bucket refilled at 10 points/s: throttling in a few calls."""
    return make_sim(bucket_size=100, restore_rate=10)


@pytest.fixture
def receiver():
    endpoint = Receiver().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="session", autouse=True)
def load_registry():
    """Override of pytest-odoo's registry loading: the simulator is pure Python,
    so its tests also run without an Odoo database (`python -m pytest
    simulator/tests`)."""
    yield
