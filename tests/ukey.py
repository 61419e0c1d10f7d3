"""Signing a login challenge with a demo card's key directly: what the UKey and its agent
do, minus pcscd, so the many tests that merely need a logged-in operator stay fast. The
real path (pcscd, the virtual card, the agent) is tests/smartcard.py's."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

from services.ukey.keys import Signer, load_signer


@functools.cache
def card_key(path: str) -> Signer:
    return load_signer(Path(path).read_bytes())


def sign(unit: dict, nonce: str) -> str:
    """The signature the unit's demo card gives over `nonce` (base64 DER)."""
    return base64.b64encode(card_key(unit["ukey"]["card_key_file"]).sign(
        nonce.encode("utf-8"))).decode()


def certificate(unit: dict) -> str:
    return Path(unit["ukey"]["certificate_file"]).read_text()


def ukey_login_fields(client, unit: dict) -> dict:
    """`ukey` for POST /api/v1/auth/login: a fresh challenge of the client's session,
    signed with the unit's demo card key."""
    challenge = client.get("/api/v1/auth/challenge").json
    return {"certificate": certificate(unit), "challenge_id": challenge["challenge_id"],
            "signature": sign(unit, challenge["nonce"])}


def ukey_form_fields(client, unit: dict) -> dict:
    """The same for the HTML login form's hidden fields."""
    return {f"ukey_{k}": v for k, v in ukey_login_fields(client, unit).items()}
