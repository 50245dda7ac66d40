"""Elicitation: sample runs → stimuli → a participant web app → CIFAR-10S responses.

Three steps, each a Python function with a thin CLI over it:

1. :func:`levelsets.elicitation.stimuli.export_stimuli` (``levelsets stimuli export``) turns sample
   runs into PNG stimuli, a ``manifest.json`` and per-participant ``batches.json``.
2. :func:`levelsets.elicitation.app.create_app` / :func:`levelsets.elicitation.server.serve`
   (``levelsets elicit serve``) run the study and store every response in SQLite
   (:mod:`levelsets.elicitation.store`).
3. :func:`levelsets.elicitation.export.export_responses` (``levelsets elicit export``) writes the
   CIFAR-10S JSON that ``levelsets labels build`` reads, plus a details file (participants,
   reaction times, repeats, catch-trial results, flagged participants, mixing judgments).

Submodules import FastAPI and Pillow lazily through these functions, so importing
``levelsets.elicitation`` is cheap.
"""

from __future__ import annotations
