"""A client that uses the dashboard the way a browser does: it keeps the cookies, and a form
it posts carries the form token (``csrf``) of the pages it was shown, as the page's own form
would. Tests of the form token itself post without one (a plain ``httpx`` client)."""

from __future__ import annotations

import re
from typing import Any

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


class Browser(httpx.Client):
    """``httpx.Client`` for the dashboard: ``sign_in(token)``, and form posts with the token."""

    csrf: str | None = None

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
        data = kwargs.get("data")
        if method.upper() == "POST" and isinstance(data, dict) and "csrf" not in data:
            path = str(url).split("?")[0]
            if path.endswith("/login") or self.csrf is None:
                # The sign-in form (or, signed in, a page without any person on it) first.
                self.get(path if path.endswith("/login") else "/reports")
            kwargs["data"] = {**data, "csrf": self.csrf or ""}
        response = super().request(method, url, *args, **kwargs)
        if response.headers.get("content-type", "").startswith("text/html"):
            found = _CSRF.search(response.text)
            if found is not None:
                self.csrf = found.group(1) or None
        if str(url).split("?")[0].endswith(("/login", "/logout")) and method.upper() == "POST":
            self.csrf = None  # a new session (or none): its pages give the new token
        return response

    def sign_in(self, token: str, next: str = "/") -> httpx.Response:
        """Sign in with ``token`` through the sign-in form; the response (a 303 when signed
        in)."""
        return self.post("/login", data={"token": token, "next": next})
