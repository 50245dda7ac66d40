"""Tests of levelsets.cli (one module per command group); a package, so its test_<module>.py basenames may repeat elsewhere."""
