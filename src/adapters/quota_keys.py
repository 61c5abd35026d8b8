"""What a local-store key looks like: the secret, its id, its digest (the only form stored) and
the `start` shown to operators."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "ig_"
KEY_ID_PREFIX = "key_"
START_CHARS = 6  # "ig_" and three characters: enough to recognise a key, useless to guess it
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, digit = divmod(number, 58)
        digits = _BASE58[digit] + digits
    return digits or _BASE58[0]


def new_key() -> str:
    return KEY_PREFIX + base58(secrets.token_bytes(16))  # 128 random bits, as Unkey's default


def new_key_id() -> str:
    return KEY_ID_PREFIX + base58(secrets.token_bytes(12))


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
