"""One base for errors that carry a machine-readable code beside the sentence for the user."""

from __future__ import annotations


class CodedError(Exception):
    """``str(error)`` is one sentence a user can act on; ``code`` says what kind of failure it is
    (``gated``, ``disk_full``, ``load_failed``…), for the caller to decide an exit code, a button
    or a retry without parsing the sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
