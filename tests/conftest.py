"""Fixtures for every test: a running planhat-sandbox (see planhat_sandbox.testing)."""

pytest_plugins = ["planhat_sandbox.testing"]
