"""Test support for tempo's test suites: what a cluster would run, on this machine (not shipped with tempo)."""
