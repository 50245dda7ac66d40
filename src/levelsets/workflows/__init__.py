"""Whole jobs built from the library's pieces: sweeps of sampling jobs on Ray (:mod:`.sweep`)."""
