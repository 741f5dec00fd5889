"""Fixtures for every test: a running planhat-sandbox (tests/sandbox_fixtures.py), and for the
pipeline tests Meltano and a real PostgreSQL (tests/pipeline_fixtures.py)."""

pytest_plugins = ["tests.sandbox_fixtures", "tests.pipeline_fixtures"]
