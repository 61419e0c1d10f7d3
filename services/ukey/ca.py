"""The centre's certificate authority (中心 CA): its key and self-signed certificate, the
certificates it issues to units' UKeys, and the checks a login's certificate must pass.

A UKey certificate names its unit in the subject: CN the unit's name, UID the 单位账号,
organizationIdentifier the 统一社会信用代码 (USCC). The CA key is a file in the instance
dir (0600), made at first use; its certificate is also stored in the database
(`ukey_authority`), which is what logins trust."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..clock import CST
from ..errors import AuthFailed
from .keys import EcdsaP256Signer, Signer, load_signer, write_private

CA_NAME = "住房公积金管理中心 UKey CA"
CA_YEARS = 10
#: How long a UKey certificate is valid; the unit renews it at the centre after that.
CERTIFICATE_VALIDITY = timedelta(days=730)
KEY_FILE = "ca-key.pem"
CERT_FILE = "ca.crt"


@dataclass(frozen=True)
class UnitSubject:
    """Who a UKey certificate names."""

    unit_account: str
    uscc: str
    name: str


class UKeyRefused(AuthFailed):
    """A login's UKey part failed. `code` says which check, for API clients and tests; the
    message says what the operator can do about it."""

    def __init__(self, code: str, message: str):
        super().__init__(message, {"ukey": [message]})
        self.code = f"ukey_{code}"


class CentreCA:
    """The CA key (behind `Signer`) and its certificate."""

    def __init__(self, signer: Signer, certificate: x509.Certificate):
        self.signer = signer
        self.certificate = certificate

    @classmethod
    def create(cls, centre_name: str = "") -> CentreCA:
        signer = EcdsaP256Signer.generate()
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                             centre_name or "住房公积金管理中心"),
                          x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        now = _now()
        public = signer.public_key()
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(signer.private_key(), hashes.SHA256()))
        return cls(signer, certificate)

    @classmethod
    def load(cls, directory: Path) -> CentreCA | None:
        key, cert = Path(directory) / KEY_FILE, Path(directory) / CERT_FILE
        if not key.exists():
            return None
        return cls(load_signer(key.read_bytes()), x509.load_pem_x509_certificate(cert.read_bytes()))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        write_private(directory / KEY_FILE, self.signer.private_pem())
        (directory / CERT_FILE).write_bytes(self.certificate_pem().encode())

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, subject: UnitSubject, card_public_key, valid_for: timedelta =
              CERTIFICATE_VALIDITY, not_before: datetime | None = None) -> x509.Certificate:
        """A certificate for a card's public key, naming the unit."""
        start = not_before or _now() - timedelta(minutes=5)
        name = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, subject.uscc),
            x509.NameAttribute(NameOID.USER_ID, subject.unit_account),
            x509.NameAttribute(NameOID.COMMON_NAME, subject.name[:64]),
        ])
        return (
            x509.CertificateBuilder().subject_name(name)
            .issuer_name(self.certificate.subject).public_key(card_public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + valid_for)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.signer.public_key()), critical=False)
            .sign(self.signer.private_key(), hashes.SHA256()))


def fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def parse_certificate(value: str) -> x509.Certificate:
    """A certificate sent at login: PEM, or base64 of the DER bytes (what the agent sends)."""
    try:
        text = (value or "").strip()
        if text.startswith("-----BEGIN"):
            return x509.load_pem_x509_certificate(text.encode("ascii"))
        return x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, UnicodeEncodeError, binascii.Error) as exc:
        raise UKeyRefused("certificate", "无法识别 UKey 证书，请重新插入 UKey 后再试") from exc


def subject_of(certificate: x509.Certificate) -> UnitSubject:
    def one(oid) -> str:
        values = certificate.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""
    return UnitSubject(unit_account=one(NameOID.USER_ID),
                       uscc=one(NameOID.ORGANIZATION_IDENTIFIER), name=one(NameOID.COMMON_NAME))


def check_chain(certificate: x509.Certificate, trusted: list[x509.Certificate],
                now: datetime | None = None) -> None:
    """The certificate was signed by one of the trusted CA certificates, is an end-entity
    certificate for signing, and is within its validity dates (and so is its CA)."""
    now = now or _now()
    issuer = next((ca for ca in trusted if _issued_by(certificate, ca)), None)
    if issuer is None:
        raise UKeyRefused("untrusted", "该 UKey 证书不是本中心签发的，不能用于登录")
    constraints = _extension(certificate, x509.BasicConstraints)
    usage = _extension(certificate, x509.KeyUsage)
    if constraints is None or constraints.ca or usage is None or not usage.digital_signature:
        raise UKeyRefused("untrusted", "该 UKey 证书不是本中心签发的，不能用于登录")
    for cert in (certificate, issuer):
        if now < cert.not_valid_before_utc:
            raise UKeyRefused("not_yet_valid", "UKey 证书尚未生效，请稍后再试或联系公积金中心")
        if now > cert.not_valid_after_utc:
            until = cert.not_valid_after_utc.astimezone(CST).strftime("%Y-%m-%d")
            raise UKeyRefused("expired", f"UKey 证书已于 {until} 过期，请携带 UKey 到公积金中心"
                                         "办理证书更新")


def _issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def _extension(certificate: x509.Certificate, kind):
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _now() -> datetime:
    return datetime.now(UTC)

