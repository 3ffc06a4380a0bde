"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from civicgrid.errors import InvalidInputError

_hasher = PasswordHasher()
MIN_LENGTH = 8
# Verifying against this when the user does not exist keeps the response time the same either way.
_DUMMY_HASH = _hasher.hash("civicgrid-no-such-user")


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(f"密码至少{MIN_LENGTH}位", code="weak_password")
    if password.isdigit() or password.isalpha():
        raise InvalidInputError("密码须同时包含字母和数字（或符号）", code="weak_password")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
