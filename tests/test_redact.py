"""``syncer.redact``: every form of every configured secret becomes ``***``.

The secrets come from real settings (loaded from YAML, connectors' settings included);
the streams write to real ``io`` objects.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from syncer.config import loader
from syncer.redact import MIN_SECRET_LENGTH, RedactingStream, Redactor

INTERCOM = "dG9rOmludGVyY29tLXNlY3JldA=="
GIT = "ghp_redact+Token/0123456789"
CONFLUENCE = "ATATT3x-confluence&token"
PG_PASSWORD = "pg-p@ss:word"


@pytest.fixture
def settings(tmp_path: Path) -> object:
    repo = tmp_path / "repo"
    repo.mkdir()
    text = f"""
intercom:
  token: ${{INTERCOM}}
store:
  url: postgresql+psycopg://syncer:{quote(PG_PASSWORD, safe="")}@db.example.com/syncer
sources:
  - name: repo
    type: git
    repo: https://github.com/acme/docs.git
    token: ${{GIT}}
    username: docs-bot
  - name: wiki
    type: confluence
    base_url: https://acme.atlassian.net/wiki
    email: bot@acme.com
    token: ${{CONFLUENCE}}
    spaces: [SUP]
"""
    env = {"INTERCOM": INTERCOM, "GIT": GIT, "CONFLUENCE": CONFLUENCE}
    return loader.loads(text, base_dir=tmp_path, env=env)


def basic(user: str, secret: str) -> str:
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


def test_every_secret_of_the_settings_and_its_forms_are_cut(settings: object) -> None:
    redactor = Redactor.from_settings(settings)  # type: ignore[arg-type]
    forms = {
        "intercom raw": INTERCOM,
        "intercom bearer": f"Authorization: Bearer {INTERCOM}",
        "intercom url-encoded": quote(INTERCOM, safe=""),
        "git raw": GIT,
        "git url-encoded": quote(GIT, safe=""),
        "git header": f"Authorization: Basic {basic('docs-bot', GIT)}",
        "git base64": basic("docs-bot", GIT),
        "confluence raw": CONFLUENCE,
        "confluence basic": basic("bot@acme.com", CONFLUENCE),
        "confluence basic url-encoded": quote(basic("bot@acme.com", CONFLUENCE), safe=""),
        "confluence json-escaped": json.dumps({"t": CONFLUENCE}),
        "postgres password": PG_PASSWORD,
        "postgres password encoded": quote(PG_PASSWORD, safe=""),
    }
    for what, form in forms.items():
        text = f"before {form} after"
        cut = redactor.redact(text)
        assert cut.startswith("before "), what
        assert cut.endswith(" after"), what
        for secret in (INTERCOM, GIT, CONFLUENCE, PG_PASSWORD):
            assert secret not in cut, what
        assert "***" in cut, what
    assert redactor.redact_bytes(f"x {GIT} y".encode()) == b"x *** y"
    assert INTERCOM not in repr(redactor)


def test_longest_form_goes_first_and_whole() -> None:
    redactor = Redactor(["s3cret-token"], basic=[("bot", "s3cret-token")])
    header = f"Authorization: Basic {basic('bot', 's3cret-token')}"
    assert redactor.redact(f"[{header}]") == "[Authorization: ***]"
    assert redactor.redact("Bearer s3cret-token") == "***"
    assert redactor.redact("id s3cret-token-2") == "id ***-2"


def test_short_and_empty_secrets_are_left_alone() -> None:
    redactor = Redactor(["", "abc", "x" * (MIN_SECRET_LENGTH - 1)], basic=[("u", "")])
    assert not redactor
    assert redactor.redact("abc xxxxx 12") == "abc xxxxx 12"


def test_redactors_combine() -> None:
    both = Redactor(["first-secret"]) | Redactor(["second-secret"])
    assert both.redact("first-secret second-secret") == "*** ***"


def test_a_stream_cuts_a_secret_written_in_pieces() -> None:
    out = io.StringIO()
    stream = RedactingStream(out)
    stream.write("before secrets are known: plain-secret\n")
    stream.add_secrets(Redactor(["plain-secret"]))
    stream.write("one plain-")
    stream.write("secret two\npartial plain")
    assert out.getvalue() == "before secrets are known: plain-secret\none *** two\n"
    stream.write("-secret")
    stream.flush()
    assert out.getvalue().endswith("partial ***")


def test_a_stream_redacts_its_buffer_too() -> None:
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    stream = RedactingStream(text, Redactor(["bytes-secret"]))
    stream.write("text ")
    assert stream.buffer is not None
    stream.buffer.write(b"bytes-secret!")
    text.flush()
    assert raw.getvalue() == b"text ***!"
