"""Password rules Django has no validator for (AUTH_PASSWORD_VALIDATORS lists them with Django's own).

- NotOnlyWhitespaceValidator: twelve spaces are twelve characters, but no password.
- UsernameInPasswordValidator: Django's similarity check compares a password with the whole
  username, so "vicvicvicvic" passes for the user "vic"; this one refuses any password that
  contains the username.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

# Names shorter than this are found inside too many good passwords to refuse them.
MIN_NAME_LENGTH = 3


class NotOnlyWhitespaceValidator:
    """Refuse a password made of whitespace alone (spaces, tabs, line breaks)."""

    def validate(self, password: str, user: Any = None) -> None:
        if not password.strip():
            raise ValidationError(
                "This password is only spaces or other blank characters.", code="password_only_whitespace"
            )

    def get_help_text(self) -> str:
        return "Your password can’t be only spaces."


class UsernameInPasswordValidator:
    """Refuse a password that contains the user's username, in any letter case."""

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        username = user.get_username() or ""
        name = username.strip().casefold()
        if len(name) >= MIN_NAME_LENGTH and name in password.casefold():
            raise ValidationError("This password contains your username.", code="password_contains_username")

    def get_help_text(self) -> str:
        return "Your password can’t contain your username."
