"""Tests of the top-level modules (src/levelsets/*.py); a package, so that test_loop.py etc. may share a basename with tests/cli/."""
