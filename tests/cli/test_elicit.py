import json
import os
import socket
import subprocess
import sys

import numpy as np
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from levelsets.cli.app import app
from levelsets.elicitation.app import create_app
from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
from levelsets.runs import SampleRun

runner = CliRunner()


def make_stimuli(tmp_path):
    rng = np.random.default_rng(0)
    run = tmp_path / "run"
    run.mkdir()
    SampleRun(latents=rng.normal(size=(6, 2)), images=rng.uniform(size=(6, 1, 8, 8)),
              probs=rng.dirichlet(np.ones(2), size=6), target=np.array([0.5, 0.5]),
              class_names=("rocket", "house")).save(run)
    (run / "summary.json").write_text(json.dumps({"target": {"spec": "ambiguous"}}))
    return export_stimuli([run], tmp_path / "stim", StimuliSettings(size=8, per_participant=4, repeats=0),
                          progress=False)


def test_elicit_export_then_labels_build(tmp_path):
    stim = make_stimuli(tmp_path)
    db = tmp_path / "r.sqlite"
    with TestClient(create_app(stim, db), base_url="http://127.0.0.1") as client:
        ses = client.get("/api/session", params={"participant": "p"}).json()
        for t in ses["trials"]:
            body = {"participant": "p", "stimulus": t["stimulus"], "trial": t["trial"], "rt_ms": 700,
                    "most_probable": "house", "most_probable_prob": 80, "second": "rocket", "second_prob": 20}
            assert client.post("/api/responses", json=body).status_code == 201
    out = tmp_path / "responses.json"
    r = runner.invoke(app, ["elicit", "export", "--db", str(db), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "wrote 4 responses on 4 stimuli" in r.output and "responses.details.json" in r.output
    labels = tmp_path / "labels.json"
    r = runner.invoke(app, ["labels", "build", "--responses", str(out), "--classes", "rocket,house", "-o", str(labels)])
    assert r.exit_code == 0, r.output
    assert labels.is_file()


def test_elicit_cli_errors(tmp_path):
    r = runner.invoke(app, ["elicit", "export", "--db", str(tmp_path / "none.sqlite"), "-o", str(tmp_path / "r.json")])
    assert r.exit_code == 2 and "error: --db" in r.output and "does not exist" in r.output
    r = runner.invoke(app, ["elicit", "serve", str(tmp_path / "nothing"), "--db", str(tmp_path / "r.sqlite")])
    assert r.exit_code == 2 and "is not a directory" in r.output
    stim = make_stimuli(tmp_path)
    r = runner.invoke(app, ["elicit", "serve", str(stim), "--db", str(tmp_path / "r.sqlite"), "--port", "70000"])
    assert r.exit_code == 2 and "--port 70000 is out of range" in r.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = runner.invoke(app, ["elicit", "serve", str(stim), "--db", str(tmp_path / "r.sqlite"), "--port", str(port)])
    assert r.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in r.output


def test_serve_says_where_it_listens(tmp_path):
    from elicitation_loadtest import LAUNCH, free_port

    stim = make_stimuli(tmp_path)
    port = free_port()
    db = tmp_path / "r.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "elicit", "serve", str(stim), "--db", str(db),
                             "--port", str(port), "--admin-token", "tok"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.kill()
        proc.wait()
    assert f"listening on http://127.0.0.1:{port}/" in lines[0]
    assert str(db.resolve()) in lines[1]
