"""Secrets out of log lines: the safety net under code that never logs them on purpose."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

from structlog.typing import WrappedLogger

MASK = "***"
# Shorter values are not scrubbed by value: a test database's password "aiops" (also its user
# and database name) would mask every logger name. URL passwords are masked whatever their
# length. The mask is shorter than any value scrubbed, so each pass shrinks the text and ends.
MIN_SECRET_LENGTH = 8

# `scheme://user:password@host`: the password up to the last `@` before the path.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s:/?#@]*:)[^\s/?#]*@", re.IGNORECASE)
# libpq's key=value form (`host=db password=...`) and query strings that carry one.
_KEY_VALUE = re.compile(r"(?P<head>\b(?:password|passwd|pwd)=)[^\s&;,'\"]+", re.IGNORECASE)


def _forms(secret: str) -> set[str]:
    """The ways a configured value may show up in a line: as is, URL-quoted, escaped in a JSON
    string or a repr, and a URL's password in those same ways."""
    values = {secret}
    if "://" in secret:
        try:
            password = urlsplit(secret).password
        except ValueError:
            password = None
        if password:
            values |= {password, unquote(password)}
    forms = set()
    for value in values:
        forms |= {
            value,
            quote(value, safe=""),
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            repr(value)[1:-1],
        }
    return forms


class Redactor:
    """Masks URL passwords, `password=` values and the `secrets` it is given, wherever they are.

    `redactor(text)` scrubs one string; `redactor.rendered` is the last step of the
    formatter, which scrubs each finished line: every field, key, traceback and repr is in
    it, so nothing rendered escapes it. Known secrets are also matched as the line escapes
    them (JSON, repr), longest form first.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {form for secret in secrets if secret for form in _forms(secret)}
        known = sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        self._known = re.compile("|".join(map(re.escape, known))) if known else None

    def __call__(self, text: str) -> str:
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)
        if "=" in text:
            text = _KEY_VALUE.sub(rf"\g<head>{MASK}", text)
        if self._known is not None:
            # Again until none is left: masking one may join the text around it into another.
            while self._known.search(text):
                text = self._known.sub(MASK, text)
        return text

    def rendered(self, logger: WrappedLogger, method_name: str, line: object) -> str:
        """The formatter's last step: the rendered line, scrubbed."""
        return self(line if isinstance(line, str) else str(line))
