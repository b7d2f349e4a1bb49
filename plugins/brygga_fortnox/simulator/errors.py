"""Errors the simulator answers with, as an exception the routes turn into a response.

Codes named in reference/erp-apis.md §2.5 [doc F5] are used as documented: 2000588 invalid
parameter, 2000637 customer number used, 2001392 empty or bad body, 2002115 JSON syntax,
2000311 missing credentials, 2000359 a value with characters outside the documented valid
set (:mod:`.charset`). The others are modelled (the real numbers were not retrieved):
2000204 customer not found, 2000428 article not found, 2000433 document not found, 2004001
VAT rate not found ("Kunde inte hitta moms", a message integrators report [3p F13]), 2000750
invalid value, 2000800 action not allowed in the document's state, 2000429 rate limited.
"""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """An answer other than 2xx: HTTP status, Fortnox error code and (Swedish) message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def bad_parameter(cls, name: str) -> ApiError:
        return cls(400, 2000588, f"Ogiltig parameter i anropet. ({name})")

    @classmethod
    def not_found(cls, what: str) -> ApiError:
        return cls(404, 2000433, f"Kan inte hitta {what}.")

    @classmethod
    def invalid(cls, field: str, value: object) -> ApiError:
        return cls(400, 2000750, f"Ogiltigt värde ({field}: {value!s:.60})")
