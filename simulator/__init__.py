"""A protocol-faithful Shopify and WooCommerce stand-in for tests, demo and
benchmarks: a real HTTP server on loopback (not imported by the addon)."""

from .server import ChannelSimulator

__all__ = ["ChannelSimulator"]
