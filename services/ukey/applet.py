"""The UKey card applet: ISO 7816-4 APDUs in, responses out, no I/O. The card emulator
(web/ukey/emulator.py) feeds it what pcscd sends; a real card would run the same protocol.

    SELECT                 00 A4 04 00 Lc AID            → 9000 | 6A82 not this applet
    READ BINARY            00 B0 P1 P2 Le                → certificate (DER) bytes from offset
                                                           P1P2 | 6B00 offset beyond the end
    VERIFY                 00 20 00 01 Lc PIN            → 9000 | 63Cx x tries left | 6983 locked
    VERIFY (no data)       00 20 00 01                   → 9000 verified | 63Cx | 6983
    INTERNAL AUTHENTICATE  00 88 00 00 Lc challenge Le   → ECDSA-SHA256 signature (DER) | 6982
                                                           PIN not verified | 6983 locked

The PIN's try counter counts down on every wrong PIN and locks the card at zero for good
(only the centre could reset it); a right PIN restores it. Verification lasts until the
card is reset, powered off or selected again: the agent's every use starts afresh."""

from __future__ import annotations

import hmac

from .keys import Signer

AID = bytes.fromhex("F0485046554B4559")  # F0 (proprietary RID) + "HPFUKEY"
HISTORICAL = b"HPF-UKEY"
PIN_TRIES = 6
MAX_CHALLENGE = 255

CLA = 0x00
INS_SELECT, INS_READ_BINARY, INS_VERIFY, INS_INTERNAL_AUTHENTICATE = 0xA4, 0xB0, 0x20, 0x88
SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY_NOT_SATISFIED = b"\x69\x82"
SW_BLOCKED = b"\x69\x83"
SW_CONDITIONS_NOT_SATISFIED = b"\x69\x85"
SW_WRONG_DATA = b"\x6a\x80"
SW_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6a\x86"
SW_OFFSET_BEYOND = b"\x6b\x00"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_CLA_NOT_SUPPORTED = b"\x6e\x00"


def atr() -> bytes:
    """A T=1 answer-to-reset carrying "HPF-UKEY" as historical bytes, with its check byte."""
    body = bytes([0x80 | len(HISTORICAL), 0x80, 0x01]) + HISTORICAL  # T0, TD1, TD2, history
    check = 0
    for byte in body:
        check ^= byte
    return b"\x3b" + body + bytes([check])


def tries_left(status: bytes) -> int | None:
    """The tries a 63Cx status word reports, else None."""
    return status[1] & 0x0F if len(status) == 2 and status[0] == 0x63 \
        and status[1] & 0xF0 == 0xC0 else None


class UKeyApplet:
    """One card: its key (never leaves it), its certificate, its PIN and try counter."""

    def __init__(self, signer: Signer, certificate_der: bytes, pin: str):
        self._signer = signer
        self._certificate = certificate_der
        self._pin = pin.encode("ascii")
        self.tries = PIN_TRIES
        self.reset()

    def reset(self) -> None:
        """Power on, power off or warm reset: nothing selected, PIN not verified."""
        self._selected = False
        self._verified = False

    @property
    def locked(self) -> bool:
        return self.tries <= 0

    def process(self, apdu: bytes) -> bytes:
        try:
            cla, ins, p1, p2, data, le = _parse(apdu)
        except ValueError:
            return SW_WRONG_LENGTH
        if cla != CLA:
            return SW_CLA_NOT_SUPPORTED
        if ins == INS_SELECT:
            return self._select(p1, data)
        if ins not in (INS_READ_BINARY, INS_VERIFY, INS_INTERNAL_AUTHENTICATE):
            return SW_INS_NOT_SUPPORTED
        if not self._selected:
            return SW_CONDITIONS_NOT_SATISFIED
        if ins == INS_READ_BINARY:
            return self._read(p1, p2, le)
        if ins == INS_VERIFY:
            return self._verify(p1, p2, data)
        return self._authenticate(data)

    def _select(self, p1: int, data: bytes) -> bytes:
        self.reset()
        if p1 != 0x04:
            return SW_WRONG_P1P2
        if data != AID:
            return SW_NOT_FOUND
        self._selected = True
        return SW_OK

    def _read(self, p1: int, p2: int, le: int | None) -> bytes:
        offset = (p1 << 8) | p2
        if p1 & 0x80 or offset > len(self._certificate):
            return SW_OFFSET_BEYOND
        length = 256 if not le else le
        return self._certificate[offset:offset + length] + SW_OK

    def _verify(self, p1: int, p2: int, pin: bytes) -> bytes:
        if (p1, p2) != (0x00, 0x01):
            return SW_WRONG_P1P2
        if self.locked:
            return SW_BLOCKED
        if not pin:
            return SW_OK if self._verified else bytes([0x63, 0xC0 | self.tries])
        if hmac.compare_digest(pin, self._pin):
            self.tries = PIN_TRIES
            self._verified = True
            return SW_OK
        self.tries -= 1
        self._verified = False
        return SW_BLOCKED if self.locked else bytes([0x63, 0xC0 | self.tries])

    def _authenticate(self, challenge: bytes) -> bytes:
        if self.locked:
            return SW_BLOCKED
        if not self._verified:
            return SW_SECURITY_NOT_SATISFIED
        if not 0 < len(challenge) <= MAX_CHALLENGE:
            return SW_WRONG_DATA
        return self._signer.sign(challenge) + SW_OK


def _parse(apdu: bytes) -> tuple[int, int, int, int, bytes, int | None]:
    """Short APDUs of ISO 7816-3 cases 1-4: (CLA, INS, P1, P2, data, Le)."""
    if len(apdu) < 4:
        raise ValueError("too short")
    cla, ins, p1, p2 = apdu[:4]
    rest = apdu[4:]
    if not rest:
        return cla, ins, p1, p2, b"", None
    if len(rest) == 1:
        return cla, ins, p1, p2, b"", rest[0]
    lc = rest[0]
    if lc == 0 or len(rest) not in (1 + lc, 2 + lc):
        raise ValueError("bad Lc")
    data = rest[1:1 + lc]
    return cla, ins, p1, p2, data, rest[1 + lc] if len(rest) == 2 + lc else None
