"""A refused action: a stable code and a message a person can act on."""

from __future__ import annotations


class Rejected(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # The input at fault, when one is (the API answers 422 naming it).
        self.field = field
