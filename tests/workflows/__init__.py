"""Tests of levelsets.workflows; a package, so its test_<module>.py basenames (test_loop, test_sample, ...) may repeat in tests/cli/."""
