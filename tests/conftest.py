"""Fixtures for every test: a running planhat-sandbox (see tests/sandbox_fixtures.py)."""

pytest_plugins = ["tests.sandbox_fixtures"]
