"""tempo's conformance kit provides the fixtures the suite in test_conformance.py uses."""

pytest_plugins = ["tempo_core.testing"]
