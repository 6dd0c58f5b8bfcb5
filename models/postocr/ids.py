"""Check digits of the identifiers our users search for. One implementation serves both the synthetic
engine (to generate valid numbers) and the entity validators (to check them).
All functions take digit strings; separators ('-', ' ') are ignored."""
from __future__ import annotations

import re

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def digits_of(text: str) -> str:
    return re.sub(r"[\s\-.]", "", text)


def rrn_check_digit(first12: str) -> int:
    """Korean resident registration number (주민등록번호): 13th digit from the first 12."""
    d = digits_of(first12)
    if len(d) != 12 or not d.isdigit():
        raise ValueError(f"an RRN body is 12 digits, got {first12!r}")
    return (11 - sum(int(c) * w for c, w in zip(d, _RRN_WEIGHTS)) % 11) % 10


def brn_check_digit(first9: str) -> int:
    """Korean business registration number (사업자등록번호): 10th digit from the first 9."""
    d = digits_of(first9)
    if len(d) != 9 or not d.isdigit():
        raise ValueError(f"a BRN body is 9 digits, got {first9!r}")
    s = sum(int(c) * w for c, w in zip(d, _BRN_WEIGHTS)) + (int(d[8]) * 5) // 10
    return (10 - s % 10) % 10


def luhn_check_digit(body: str) -> int:
    """Luhn digit to append to `body` (payment card numbers)."""
    d = digits_of(body)
    if not d.isdigit():
        raise ValueError(f"a card number body is digits, got {body!r}")
    total = 0
    for i, c in enumerate(reversed(d)):
        n = int(c)
        if i % 2 == 0:          # these positions are doubled once the check digit is appended
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return (10 - total % 10) % 10


def valid_rrn(text: str) -> bool:
    d = digits_of(text)
    return len(d) == 13 and d.isdigit() and rrn_check_digit(d[:12]) == int(d[12])


def valid_brn(text: str) -> bool:
    d = digits_of(text)
    return len(d) == 10 and d.isdigit() and brn_check_digit(d[:9]) == int(d[9])


def valid_luhn(text: str) -> bool:
    d = digits_of(text)
    return 12 <= len(d) <= 19 and d.isdigit() and luhn_check_digit(d[:-1]) == int(d[-1])
