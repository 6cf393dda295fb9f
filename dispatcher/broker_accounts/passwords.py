"""Terminal passwords: derived from a secret key, stored only as Mosquitto's hash.

A terminal's password is HMAC-SHA256(key, device_id, generation), cut to 24 base64url
characters (144 bits). The database keeps only the generation and the hash Mosquitto
reads (`$7$` PBKDF2-SHA512, the format `mosquitto_passwd` writes in 2.0), so a copy of
the database or of the password file gives no password away, while whoever holds the key
can print a terminal's password again (`dispatcher terminal credentials`), and
`--rotate` makes a new one by moving to the next generation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

PASSWORD_CHARS = 24
# mosquitto_passwd's own count in 2.0. Enough for derived, random 144-bit passwords,
# and cheap when thousands of terminals reconnect at once after a broker restart.
TERMINAL_ITERATIONS = 101
# the dispatcher's password is chosen by a person: make guessing it from a stolen file dear
DISPATCHER_ITERATIONS = 20_000
_SALT_BYTES = 12  # as mosquitto_passwd


def derive_password(key: bytes, device_id: str, generation: int) -> str:
    message = f"mqtt-terminal\0{device_id}\0{generation}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:PASSWORD_CHARS]


def mosquitto_hash(
    password: str, *, iterations: int = TERMINAL_ITERATIONS, salt: bytes | None = None
) -> str:
    """`$7$ITERATIONS$SALT$HASH`, both base64, as Mosquitto 2.0 reads in a password_file."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    derived = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(derived).decode()}"


def verify(password: str, encoded: str) -> bool:
    """True when `password` matches a `$7$` hash; False for any other or malformed hash."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "7" or not parts[2].isdigit():
        return False
    iterations = int(parts[2])
    if not 1 <= iterations <= 10_000_000:
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except binascii.Error:
        return False
    derived = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return hmac.compare_digest(derived, expected)
