"""The admin pages (levelsets.elicitation.admin): the token, progress, export, escaping of participant text."""

import pytest
from fastapi.testclient import TestClient

from levelsets.elicitation.app import create_app

from .study_clients import BASE, TOKEN, first_soft_trial, session, soft_body


def table_cells(page: str) -> list[str]:
    """The text of every ``<td>`` of ``page`` as a browser shows it (entities decoded, no markup)."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.cells, self.open = [], False

        def handle_starttag(self, tag, attrs):
            assert tag != "script", "a <script> element reached the page"
            if tag == "td":
                self.cells.append("")
                self.open = True

        def handle_endtag(self, tag):
            self.open = self.open and tag != "td"

        def handle_data(self, data):
            if self.open:
                self.cells[-1] += data

    parser = Cells()
    parser.feed(page)
    return parser.cells


def test_participant_text_never_rendered_as_html(client, db):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    ses = session(client, evil)
    assert ses["participant"] == evil
    assert client.post("/api/responses", json=soft_body(evil, first_soft_trial(ses))).status_code == 201
    page = client.get("/admin", params={"token": TOKEN})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert evil in table_cells(page.text)  # shown as text, exactly as typed
    study = client.get("/", params={"participant": evil})
    assert "<script>alert" not in study.text


def test_platform_session_id_is_escaped_on_the_admin_page(client):
    """The platform's ``SESSION_ID`` comes from the participant's link, so it is participant-supplied text."""
    evil = "</td><script>alert('s')</script>&amp;"
    r = client.get("/api/session", params={"participant": "pat", "study_id": "st", "session_id": evil})
    assert r.status_code == 200, r.text
    page = client.get("/admin", params={"token": TOKEN}).text
    assert "<script>alert" not in page and "</td><script>" not in page
    cells = table_cells(page)
    row = cells.index("pat")
    assert cells[row + 1] == evil  # the literal "&amp;" too: escaped once, not passed through as an entity


@pytest.mark.parametrize("path", ["/admin", "/admin/progress", "/admin/export"])
def test_admin_requires_token(client, stimuli_dir, tmp_path, path):
    assert client.get(path).status_code == 401
    assert client.get(path, params={"token": "wrong"}).status_code == 401
    assert client.get(path, headers={"X-Admin-Token": "wrong"}).status_code == 401
    assert client.get(path, params={"token": TOKEN}).status_code == 200
    assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    with TestClient(create_app(stimuli_dir, tmp_path / "other.sqlite"), base_url=BASE) as no_admin:
        assert no_admin.get(path, params={"token": TOKEN}).status_code == 403


def test_admin_progress_counts(client):
    ses = session(client, "gina")
    client.post("/api/responses", json=soft_body("gina", first_soft_trial(ses)))
    data = client.get("/admin/progress", params={"token": TOKEN}).json()
    assert [p["id"] for p in data["participants"]] == ["gina"] and data["participants"][0]["responses"] == 1
    assert sum(data["per_stimulus"].values()) == 1 and data["per_stimulus"][first_soft_trial(ses)["stimulus"]] == 1
    export = client.get("/admin/export", params={"token": TOKEN}).json()
    assert sum(len(v) for v in export["responses"].values()) + len(export["details"]["catch"]) >= 1


def test_render_page_escapes_every_value_and_refuses_missing_ones():
    from jinja2.exceptions import UndefinedError

    from levelsets.elicitation.admin import render_page

    page = render_page("study.html", study_id='"><script>x()</script>')
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page
    with pytest.raises(UndefinedError, match="study_id"):  # a missing value is an error, not an empty string
        render_page("study.html")
