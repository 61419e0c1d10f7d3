"""The one signing interface behind the CA and the card. ECDSA P-256 with SHA-256 today;
SM2/SM3 (what Chinese CAs use) is a second `Signer` and a second branch in
`verify_signature`, nothing else changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import InvalidInput


class Signer(Protocol):
    """A private key that signs: the CA's key, or the key inside a card."""

    algorithm: str

    def public_key(self): ...

    def sign(self, data: bytes) -> bytes:
        """A DER-encoded signature over `data` (hashed by the algorithm itself)."""
        ...

    def private_pem(self) -> bytes: ...

    def private_key(self):
        """The underlying `cryptography` key, for signing certificates."""
        ...


class EcdsaP256Signer:
    """ECDSA on NIST P-256 with SHA-256."""

    algorithm = "ecdsa-p256-sha256"

    def __init__(self, key: ec.EllipticCurvePrivateKey):
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise InvalidInput("密钥不是 ECDSA P-256 私钥")
        self._key = key

    @classmethod
    def generate(cls) -> EcdsaP256Signer:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        return self._key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    def private_pem(self) -> bytes:
        return self._key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())


def load_signer(pem: bytes) -> Signer:
    """A signer from a PEM private key (the CA's key file, a card's key file)."""
    key = serialization.load_pem_private_key(pem, password=None)
    return EcdsaP256Signer(key)


def verify_signature(public_key, data: bytes, signature: bytes) -> bool:
    """Whether `signature` (DER) is the key's signature over `data`."""
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == "secp256r1":
        try:
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            return True
        except (InvalidSignature, ValueError):
            return False
    return False


def write_private(path: Path, content: bytes) -> None:
    """Write a private key readable by its owner only (0600 from the start, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    path.chmod(0o600)
