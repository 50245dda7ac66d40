"""Whole jobs built from the library's pieces.

A ``levelsets sample`` job (:mod:`.sample`), the closed loop (:mod:`.loop`), sweeps of sampling jobs on Ray
(:mod:`.sweep`) and sharded sampling (:mod:`.shards`).
"""
