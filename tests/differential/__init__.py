"""Differential conformance tests: the sandbox and a real Taskcluster (the rig)
answer the same calls; see harness.py, compare.py and accepted.py."""
