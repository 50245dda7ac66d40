r"""The loop with people in it: choose stimuli, add them to a live study, wait, collect labels.

One round of ``levelsets loop --labeler elicited --study DIR --db FILE`` (:mod:`levelsets.loop`):

1. the loop samples level sets of the current classifier :math:`f_{r-1}` (the *candidates*);
2. :func:`choose_stimuli` picks ``n`` distinct candidates where :math:`f_{r-1}` and the people
   disagree most. The disagreement of candidate :math:`x` is the **total variation distance**

   .. math::

       D(x) = \mathrm{TV}\big(f_{r-1}(x), \hat y(x)\big) = \tfrac12 \sum_{l=1}^K \lvert f_{r-1}(x)_l - \hat y(x)_l \rvert
       \in [0, 1],

   where :math:`\hat y(x)` is the elicited label predicted at :math:`x`: the mean aggregate
   elicited label of the :data:`NEIGHBOURS` labelled stimuli nearest to :math:`x` in pixel space
   (:data:`~levelsets.evaluation.image_features.FEATURE_SPACE`). TV rather than KL because
   elicited labels hold exact zeros (classes marked impossible) and TV is bounded and symmetric.
   In round 1 nothing is labelled yet, so the round's stimuli are spread over the candidates by
   greedy k-center instead (:func:`~levelsets.evaluation.image_features.select_diverse`);
3. :func:`add_stimulus_round` writes the chosen samples as sample runs and a stimulus export into
   the study's ``round_<NNN>/`` and then lists the round in ``study.json``; the running server
   (``levelsets elicit serve DIR``) takes it up on its next request, without a restart
   (:mod:`levelsets.elicitation.study`);
4. :func:`wait_for_responses` polls the response database until every new sample stimulus has
   ``per_stimulus`` responses from distinct participants (or ``timeout`` passes), with a progress bar;
5. :func:`collect_labels` exports the responses (``levelsets elicit export``), builds soft labels
   (``levelsets labels build``, T2-clamp, γ = 0.1, mean over annotators) and maps them back to the
   sample runs (:func:`~levelsets.elicitation.manifest.elicited_label_files`); :math:`f_r` trains
   on base data + every elicited label so far.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from levelsets.errors import LevelsetsError

log = logging.getLogger(__name__)

NEIGHBOURS = 5
"""Labelled stimuli averaged to predict the elicited label of a candidate (fewer when fewer exist)."""

DISAGREEMENT = "total variation between the classifier's prediction and the elicited label predicted from the 5 nearest labelled stimuli (pixel space)"


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""Row-wise total variation distance :math:`\tfrac12 \sum_l |p_l - q_l|` of (N, K) arrays → (N,)."""
    return 0.5 * np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum(axis=-1)


def predict_elicited(candidates: np.ndarray, labelled: np.ndarray, labels: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Mean label of the ``k`` nearest labelled points.

    Parameters
    ----------
    candidates, labelled:
        (N, D) and (M, D) features.
    labels:
        (M, K) elicited labels of the labelled points.

    Returns
    -------
    numpy.ndarray
        (N, K) predicted labels (rows sum to 1 when the labels do).
    """
    a = np.asarray(candidates, dtype=np.float64)
    b = np.asarray(labelled, dtype=np.float64)
    k = max(1, min(k, b.shape[0]))
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
    return np.asarray(labels, dtype=np.float64)[nearest].mean(axis=1)


@dataclass
class Choice:
    """The stimuli chosen for one round.

    Attributes
    ----------
    picks:
        Run position → sorted indices of the chosen samples in that run.
    scores:
        Run position → disagreement :math:`D` of each chosen sample (same order; NaN in round 1).
    rule:
        ``"disagreement"`` or ``"diverse"`` (round 1).
    candidates:
        Distinct candidate samples the choice was made among.
    mean_disagreement:
        Mean :math:`D` over all candidates and over the chosen ones (``None`` in round 1).
    """

    picks: dict[int, list[int]]
    scores: dict[int, list[float]]
    rule: str
    candidates: int
    mean_disagreement: dict[str, float] | None = None
    chosen: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.chosen = sum(len(v) for v in self.picks.values())


def choose_stimuli(runs: Sequence, n: int, *, labelled: tuple[np.ndarray, np.ndarray] | None, seed: int = 0) -> Choice:
    """Choose ``n`` distinct samples of ``runs`` (:class:`~levelsets.runs.SampleRun`) to show people.

    Parameters
    ----------
    runs:
        The round's candidate runs; ``run.probs`` are the current classifier's predictions.
    n:
        How many to choose (at most the number of distinct candidates: duplicates of a resampled
        particle count once).
    labelled:
        ``(images, labels)``, (M, C, H, W) and (M, K): the samples labelled by people so far, or
        ``None`` (round 1: k-center over the candidates).
    seed:
        First point of the k-center choice.
    """
    from levelsets.evaluation.image_features import features, select_diverse

    where: list[tuple[int, int]] = []
    for r, run in enumerate(runs):
        _, first = np.unique(np.asarray(run.latents), axis=0, return_index=True)
        where += [(r, int(i)) for i in sorted(first)]
    if n > len(where):
        raise LevelsetsError(
            f"--stimuli-per-round {n} but the round's runs hold only {len(where)} distinct samples; "
            "lower --stimuli-per-round or raise --samples-per-target"
        )
    images = np.concatenate([np.asarray(runs[r].images[[i]]) for r, i in where])
    feats = features(images)
    if labelled is None:
        order = select_diverse(feats, n, seed=seed)
        scores = np.full(len(where), np.nan)
        rule, means = "diverse", None
    else:
        probs = np.concatenate([np.asarray(runs[r].probs[[i]]) for r, i in where])
        predicted = predict_elicited(feats, features(labelled[0]), labelled[1])
        scores = total_variation(probs, predicted)
        order = np.argsort(-scores, kind="stable")[:n]
        rule = "disagreement"
        means = {"candidates": float(scores.mean()), "chosen": float(scores[order].mean())}
    picks: dict[int, list[int]] = {}
    chosen_scores: dict[int, list[float]] = {}
    for j in sorted(int(o) for o in order):
        r, i = where[j]
        picks.setdefault(r, []).append(i)
        chosen_scores.setdefault(r, []).append(float(scores[j]))
    return Choice(picks=picks, scores=chosen_scores, rule=rule, candidates=len(where), mean_disagreement=means)


def add_stimulus_round(study: str | Path, round_number: int, runs: Sequence, names: Sequence[str], choice: Choice,
                       settings) -> Path:
    """Write the chosen samples and their stimuli as round ``round_number`` of ``study``.

    Parameters
    ----------
    runs, names:
        The candidate runs and a short name for each (the loop's target slugs).
    choice:
        From :func:`choose_stimuli`.
    settings:
        :class:`~levelsets.elicitation.stimuli.StimuliSettings` of the export (every chosen
        sample becomes a stimulus, in order).

    Returns
    -------
    Path
        The round's stimulus directory.
    """
    from levelsets.artifacts import write_json
    from levelsets.elicitation.manifest import subset_run
    from levelsets.elicitation.stimuli import export_stimuli
    from levelsets.elicitation.study import add_round
    from levelsets.runs import SUMMARY_FILE

    class_names = tuple(runs[0].class_names)

    def write(round_dir: Path) -> None:
        sources = []
        for r, indices in sorted(choice.picks.items()):
            run = runs[r]
            directory = round_dir / "sources" / f"r{round_number}-{names[r]}"
            directory.mkdir(parents=True)
            subset_run(run, indices).save(directory)
            write_json(directory / SUMMARY_FILE, {
                **{k: v for k, v in run.summary.items() if k in ("target", "world", "prior", "classifier", "seed", "settings")},
                "live_round": {"round": round_number, "source": str(run.path) if run.path else None, "indices": indices,
                               "rule": choice.rule, "disagreement": choice.scores[r]},
            })
            sources.append(directory)
        export_stimuli(sources, round_dir / "stimuli", settings, progress=False)

    return add_round(study, round_number, write, class_names=class_names)


def _open_db(db: Path, study_id: str):
    """The response store of ``db`` (read side), or None while the server has not created it (completely) yet."""
    from levelsets.elicitation.store import ResponseStore

    if not db.is_file():
        return None
    try:
        store = ResponseStore(db)
    except LevelsetsError:
        return None  # the server is creating it: its schema and study row are written in separate steps
    if store.stimuli.study_id != study_id:
        raise LevelsetsError(f"--db {db} belongs to study {store.stimuli.study_id}, not to the loop's study {study_id}; "
                             "give the --db the server of this --study writes")
    return store


def wait_for_responses(db: str | Path, study: str | Path, stimulus_ids: Sequence[str], *, per_stimulus: int,
                       poll_seconds: float, timeout: float | None,
                       progress: bool = True, sleep: Callable[[float], None] = time.sleep) -> dict[str, int]:
    r"""Poll ``db`` until each of ``stimulus_ids`` has ``per_stimulus`` responses (distinct participants).

    Returns
    -------
    dict
        Stimulus id → responses so far, when the goal was met or ``timeout`` seconds passed
        (``None``: no limit). Logs (``levelsets.elicitation.live_rounds``) a warning with the
        server command while the database does not exist yet and one on a timeout, and shows a
        progress bar of :math:`\sum_s \min(n_s, \mathrm{per\_stimulus})`.
    """
    from levelsets.elicitation.study import read_study
    from levelsets.progress import progress_bar

    db = Path(db)
    study_id = read_study(study)["study_id"]
    goal = per_stimulus * len(stimulus_ids)
    started = time.monotonic()
    told_server = False
    counts = dict.fromkeys(stimulus_ids, 0)
    with progress_bar(total=goal, desc="responses", unit="resp", enabled=progress) as bar:
        while True:
            store = _open_db(db, study_id)
            if store is None and not told_server:
                what = "no response database yet" if not db.exists() else f"{db} is not a ready response database yet"
                log.warning(f"{what}: start the server with `levelsets elicit serve {study} --db {db}` "
                            "(it takes up new rounds without a restart)")
                told_server = True
            if store is not None:
                seen = store.responders_per_stimulus()
                counts = {sid: int(seen.get(sid, 0)) for sid in stimulus_ids}
            done = sum(min(n, per_stimulus) for n in counts.values())
            bar.update(done - bar.n)
            if done >= goal:
                return counts
            if timeout is not None and time.monotonic() - started >= timeout:
                log.warning(f"timeout after {timeout:g} s: {done} of {goal} responses "
                            f"({sum(n > 0 for n in counts.values())} of {len(counts)} stimuli answered); going on with what came back")
                return counts
            sleep(poll_seconds)


def collect_labels(db: str | Path, study: str | Path, out_dir: str | Path, class_names: Sequence[str]) -> dict:
    """Export every response so far, build soft labels and map them to sample runs, all under ``out_dir``.

    Returns
    -------
    dict
        ``runs`` and ``label_files`` (for training), ``labels`` (the label file), ``responses``
        (the CIFAR-10S file), ``counts`` (from the export) and ``labelled`` (number of labelled
        sample stimuli).

    Raises
    ------
    LevelsetsError
        When no sample stimulus has a response yet.
    """
    from levelsets.elicitation.export import export_responses
    from levelsets.elicitation.manifest import elicited_label_files
    from levelsets.softlabels.label_files import build_label_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    responses, _, counts = export_responses(db, out_dir / "responses.json")
    if not json.loads(responses.read_text()):
        raise LevelsetsError(f"no sample stimulus of --study {study} has a response in --db {db} yet; "
                             "nothing to train on (raise --timeout or check that participants reach the server)")
    labels = build_label_file(responses, classes=list(class_names), out=out_dir / "labels.json").path
    runs, files = elicited_label_files(study, labels, out_dir / "elicited")
    return {"runs": runs, "label_files": files, "labels": labels, "responses": responses, "counts": counts,
            "labelled": counts["stimuli_with_responses"]}


def labelled_samples(runs: Sequence[Path], label_files: Sequence[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Images (M, C, H, W) and aggregate labels (M, K) of the elicited runs (for :func:`choose_stimuli`)."""
    from levelsets.runs import load_run
    from levelsets.softlabels.label_files import load_soft_labels

    images, labels = [], []
    for run_dir, file in zip(runs, label_files, strict=True):
        run = load_run(run_dir)
        loaded = load_soft_labels(file, class_names=run.class_names)
        aggregate = loaded.aggregate()
        for key in sorted(loaded.ids, key=int):
            images.append(run.images[int(key)])
            labels.append(aggregate[key])
    return np.stack(images), np.stack(labels)
