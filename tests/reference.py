"""The repository's reference data (simulator/reference/) for the tests."""

from simulator.reference import reference_path
from simulator.shopify_graphql import admin_schema

__all__ = ["admin_schema", "reference_path"]
