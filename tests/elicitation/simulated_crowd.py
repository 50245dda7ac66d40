"""Simulated participants of a live study: the soft-label simulator posting through the real HTTP API.

A participant opens a session from a platform-style link, consents, and answers every trial of the
batch they are given: for a soft-label trial they draw a class from the shapes world's exact
posterior at the stimulus's latent and answer with the soft-label simulator's response for that
class (seed 001 appendix B.5), posted in percent.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import torch

from levelsets.elicitation.manifest import load_stimuli
from levelsets.generative.shapes import exact_posterior
from levelsets.softlabels.simulator import SoftLabelSimulator

SHAPES = ("rocket", "house")


def fitted_simulator(seed: int = 0) -> SoftLabelSimulator:
    """A simulator fitted on 40 synthetic two-class responses (top-1 55–95 %, a second class half the time)."""
    rng = np.random.default_rng(seed)
    raw = {}
    for i in range(40):
        top = SHAPES[i % 2]
        p1 = int(rng.integers(55, 96))
        second = SHAPES[1 - i % 2] if rng.random() < 0.5 else None
        raw[f"x{i}"] = [{"Most Probable Class": top, "Most Probable Class Prob": p1,
                         "Second Most Probable Class": second or "No",
                         "Second Most Probable Class Prob": (100 - p1) if second else None,
                         "Impossible Class(es)": []}]
    return SoftLabelSimulator.fit(raw, SHAPES)


class SimulatedCrowd(threading.Thread):
    """Participants arriving one after another (every ``gap`` seconds) until :meth:`stop`."""

    def __init__(self, base_url: str, study, simulator: SoftLabelSimulator, *, gap: float = 0.05, seed: int = 0,
                 per_batch: int = 2, admin_token: str = "load-check") -> None:
        super().__init__(daemon=True)
        self.base = base_url.rstrip("/")
        self.study = study
        self.simulator = simulator
        self.gap = gap
        self.per_batch = per_batch
        self.token = admin_token
        self.rng = np.random.default_rng(seed)
        self._halt = threading.Event()
        self.participants: list[dict] = []
        self.errors: list[str] = []

    def stop(self) -> None:
        """Let the participant in progress finish, then end."""
        self._halt.set()

    def _answer(self, trial: dict, latents: dict[str, list[float]], seed: int) -> dict:
        z = torch.as_tensor([latents[trial["stimulus"]]], dtype=torch.float64)
        posterior = exact_posterior(z)[0].numpy()
        c = int(self.rng.choice(2, p=posterior / posterior.sum()))
        (r,) = self.simulator.draw_responses(np.array([c]), high_entropy=np.array([True]), seed=seed)
        answer = {"most_probable": SHAPES[r.top1], "most_probable_prob": round(100 * r.top1_prob, 1),
                  "second": None, "second_prob": None, "impossible": [SHAPES[j] for j in sorted(r.impossible)]}
        if r.top2 is not None:
            answer["second"] = SHAPES[r.top2]
            answer["second_prob"] = min(round(100 * r.top2_prob, 1), answer["most_probable_prob"])
        return answer

    def _needed(self, client) -> bool:
        """True while a batch of the newest round has been completed by fewer than ``per_batch`` participants."""
        progress = client.get(f"{self.base}/admin/progress", params={"token": self.token}).json()
        newest = load_stimuli(self.study).assignable
        done = {b["batch"]: b["completed"] for b in progress["batches"]}
        return any(done.get(b, 0) < self.per_batch for b in newest)

    def run(self) -> None:
        import httpx

        n = 0
        with httpx.Client(timeout=30.0) as client:
            while not self._halt.is_set():
                if not self._needed(client):
                    time.sleep(self.gap)
                    continue
                pid = f"sim{n:04d}"
                query = {"participant": pid, "study_id": "STUDY", "session_id": f"S{n}"}
                try:
                    session = client.get(f"{self.base}/api/session", params=query).json()
                    latents = {sid: rec["latent"] for sid, rec in load_stimuli(self.study).stimuli.items()}
                    client.post(f"{self.base}/api/consent", json={"participant": pid}).raise_for_status()
                    for trial in session["trials"]:
                        body = {"participant": pid, "stimulus": trial["stimulus"], "trial": trial["trial"],
                                "rt_ms": 900.0, **self._answer(trial, latents, seed=1000 * n + trial["trial"])}
                        reply = client.post(f"{self.base}/api/responses", json=body)
                        if reply.status_code not in (200, 201):
                            self.errors.append(f"{pid} trial {trial['trial']}: {reply.status_code} {reply.text}")
                    self.participants.append({"id": pid, "batch": session["batch"],
                                              "stimuli": [t["stimulus"] for t in session["trials"]]})
                except Exception as exc:  # noqa: BLE001 - recorded and asserted empty by the test
                    self.errors.append(f"{pid}: {exc!r}")
                n += 1
                time.sleep(self.gap)
