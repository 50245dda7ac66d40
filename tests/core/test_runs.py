import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.runs import SampleRun, load_run


def _run(n=4, k=2):
    rng = np.random.default_rng(0)
    return SampleRun(
        latents=rng.normal(size=(n, 3)),
        images=rng.uniform(size=(n, 1, 8, 8)),
        probs=np.full((n, k), 1.0 / k),
        target=np.full(k, 1.0 / k),
        class_names=("rocket", "house"),
        particle_index=np.arange(n),
    )


def test_round_trip(tmp_path):
    run = _run()
    run.save(tmp_path)
    back = load_run(tmp_path)
    assert len(back) == 4 and back.class_names == ("rocket", "house")
    np.testing.assert_allclose(back.latents, run.latents.astype(np.float32))
    assert back.images.shape == (4, 1, 8, 8)


def test_errors(tmp_path):
    with pytest.raises(LevelsetsError, match="no samples.npz"):
        load_run(tmp_path)
    (tmp_path / "samples.npz").write_bytes(b"not a zip")
    with pytest.raises(LevelsetsError, match="corrupt or truncated"):
        load_run(tmp_path)
    with pytest.raises(LevelsetsError, match="disagree on the number of samples"):
        SampleRun(latents=np.zeros((3, 2)), images=np.zeros((2, 1, 4, 4)), probs=np.zeros((3, 2)),
                  target=np.ones(2) / 2, class_names=("a", "b"))
