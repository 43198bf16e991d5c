"""Cutting configured secrets out of text: what syncer prints, logs and stores.

A secret travels in more forms than its own: ``Bearer <token>``, HTTP Basic's base64 of
``user:token`` (Confluence Cloud's ``email:token``, git's ``Authorization`` header),
URL-encoded in a link, JSON-escaped in a report. A `Redactor` knows every form of every
secret it was given and replaces each with ``***``, longest first, so a whole header goes
rather than leaving a stray tail. `Redactor.from_settings` collects every ``SecretStr``
anywhere in the loaded settings (connectors' own settings included) and the password of
any URL in them.

Two layers use it. At the source, each client scrubs its own credentials from the errors
it builds (``syncer.intercom.transport``, ``connectors.confluence.http``,
``connectors.git.command``), since a server may echo them back. At the outputs, as a
catch-all once the config is loaded: ``syncer.logs`` (every log event), the command
line's stdout and stderr (`RedactingStream`), and what the store records.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote, quote_plus, unquote, urlsplit

if TYPE_CHECKING:
    from pydantic import BaseModel

MASK = "***"
# Shorter secrets are left alone: masking every "abc" or "1234" would garble ids, counts
# and timestamps in every line while hiding nothing a guess would not find; real tokens
# are 20 characters and more. (An empty one would match everywhere.)
MIN_SECRET_LENGTH = 6
# Settings fields that name the user sent with a secret as HTTP Basic credentials.
_USER_FIELDS = ("email", "username", "user", "login")


class Redactor:
    """Replaces every known form of some secrets with ``***``; immutable, thread-safe.

    ``secrets`` are raw values; ``basic`` are ``(user, secret)`` pairs sent as HTTP
    Basic (their base64 is a form of its own). An empty ``Redactor`` changes nothing.
    """

    __slots__ = ("_bytes", "_forms", "_text")

    def __init__(
        self, secrets: Iterable[str] = (), *, basic: Iterable[tuple[str, str]] = ()
    ) -> None:
        forms: set[str] = set()
        for secret in secrets:
            forms |= _forms_of(secret)
        for user, secret in basic:
            forms |= _basic_forms(user, secret)
        self._adopt(frozenset(forms))

    @classmethod
    def from_settings(cls, settings: BaseModel) -> Redactor:
        """Every secret of the loaded settings: each ``SecretStr`` anywhere in them (with a
        sibling ``email``/``username`` also as HTTP Basic), and each URL's password."""
        from pydantic import SecretStr

        secrets: list[str] = []
        basic: list[tuple[str, str]] = []
        for model in _models(settings):
            # A field's own value, or the items of a list or dict of them (headers).
            values = [
                leaf for name in type(model).model_fields for leaf in _leaves(getattr(model, name))
            ]
            users = [getattr(model, n, None) for n in _USER_FIELDS]
            for value in values:
                if isinstance(value, SecretStr):
                    secret = value.get_secret_value()
                    secrets.append(secret)
                    secrets.extend(_secret_url_parts(secret))
                    basic.extend((user, secret) for user in users if isinstance(user, str))
                secrets.extend(_url_passwords(value))
        return cls(secrets, basic=basic)

    def __or__(self, other: Redactor) -> Redactor:
        """A redactor that knows the secrets of both."""
        merged = Redactor()
        merged._adopt(self._forms | other._forms)
        return merged

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} forms)"  # never the forms themselves

    def redact(self, text: str) -> str:
        """``text`` with each form of each secret replaced by ``***``."""
        return self._text.sub(MASK, text) if self._text is not None else text

    def redact_bytes(self, data: bytes) -> bytes:
        """The same for bytes (their UTF-8 forms)."""
        return self._bytes.sub(MASK.encode(), data) if self._bytes is not None else data

    def _adopt(self, forms: frozenset[str]) -> None:
        # Longest first: at each position the regex takes the first alternative that
        # matches, so "Basic <b64>" goes whole, not "<b64>" alone.
        ordered = sorted(forms, key=lambda form: (-len(form), form))
        self._forms = forms
        self._text = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._bytes = (
            re.compile(b"|".join(re.escape(form.encode()) for form in ordered)) if ordered else None
        )


class RedactingStream:
    """A text stream that writes through a `Redactor` to another stream.

    Once it has secrets, text is held until a newline (or ``flush``) and redacted a line
    at a time, so a secret written in two pieces is still cut. Everything else
    (``isatty``, ``fileno``, ``encoding``...) is the wrapped stream's; ``buffer`` redacts
    the bytes written to it too.
    """

    def __init__(self, stream: TextIO, redactor: Redactor | None = None) -> None:
        self._stream = stream
        self._redactor = redactor or Redactor()
        self._held = ""
        raw = getattr(stream, "buffer", None)
        self.buffer = _RedactingBuffer(raw, self) if raw is not None else None

    @property
    def redactor(self) -> Redactor:
        return self._redactor

    def add_secrets(self, redactor: Redactor) -> None:
        """Also redact ``redactor``'s secrets from now on."""
        self._redactor = self._redactor | redactor

    def write(self, text: str) -> int:
        if not self._redactor:
            return self._stream.write(text)
        self._held += text
        cut = self._held.rfind("\n") + 1
        if cut:
            ready, self._held = self._held[:cut], self._held[cut:]
            self._stream.write(self._redactor.redact(ready))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, ""
            self._stream.write(self._redactor.redact(held))
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _RedactingBuffer:
    """``RedactingStream.buffer``: bytes (``syncer api`` downloads), redacted per write."""

    def __init__(self, raw: Any, text: RedactingStream) -> None:
        self._raw = raw
        self._text = text

    def write(self, data: bytes) -> int:
        self._text.flush()  # text written before these bytes goes out before them
        self._raw.write(self._text.redactor.redact_bytes(bytes(data)))
        return len(data)

    def flush(self) -> None:
        self._raw.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _forms_of(secret: str) -> set[str]:
    """A secret as it may appear: raw, as a bearer token, URL-encoded, JSON-escaped."""
    if len(secret.strip()) < MIN_SECRET_LENGTH:
        return set()
    return {
        secret,
        f"Bearer {secret}",
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def _basic_forms(user: str, secret: str) -> set[str]:
    """``user:secret`` as HTTP Basic sends it, with its scheme and URL-encoded.

    Git's header value, ``Authorization: Basic <base64>``, thus reads
    ``Authorization: ***``, as a bearer header does.
    """
    if len(secret.strip()) < MIN_SECRET_LENGTH:
        return set()
    encoded = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    return {encoded, quote(encoded, safe=""), f"Basic {encoded}"}


def _models(value: Any) -> Iterator[BaseModel]:
    """Every pydantic model in ``value``, itself included, depth first."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _models(getattr(value, name))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _models(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _models(item)


def _leaves(value: Any) -> Iterator[Any]:
    """``value``, or what a list, tuple, set or dict holds, all the way down."""
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    else:
        yield value


def _secret_url_parts(secret: str) -> list[str]:
    """A secret that is a URL (a Slack webhook's) is secret in its path and query too:
    what a log line naming only the path would show."""
    if not secret.startswith(("http://", "https://")):
        return []
    try:
        parts = urlsplit(secret)
    except ValueError:
        return []
    path = parts.path.strip("/")
    return [part for part in (path, parts.query) if part]


def _url_passwords(value: Any) -> list[str]:
    """The password of a URL such as ``postgresql://user:pw@host/db``, as written and
    decoded."""
    if not isinstance(value, str) or "://" not in value or "@" not in value:
        return []
    try:
        password = urlsplit(value).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []
