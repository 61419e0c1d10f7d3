"""A virtual UKey for pcscd's `vsmartcard-vpcd` reader driver: the demo unit's card in
`make run`, and the card the tests insert and pull out.

vpcd listens on a TCP port per reader slot; a card "inserted" is a connection to it.
Messages both ways are a 2-byte big-endian length and the payload. From vpcd, a 1-byte
payload is a control (0 power off, 1 power on, 2 reset, 4 send the ATR), anything longer
an APDU for the card to answer. (Debian's own `vicc` is broken as packaged.)

    python -m web.ukey.emulator --key K.pem --certificate K.crt --pin 123456 [--port 35963]
"""

from __future__ import annotations

import argparse
import socket
import struct
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from services.ukey.applet import UKeyApplet, atr
from services.ukey.keys import load_signer

VPCD_PORT = 35963
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


class VirtualSlot:
    """One vpcd reader slot, holding at most one card at a time."""

    def __init__(self, port: int = VPCD_PORT, host: str = "127.0.0.1"):
        self.host, self.port = host, port
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._seen = threading.Event()
        self.applet: UKeyApplet | None = None

    def insert(self, applet: UKeyApplet, timeout: float = 10.0) -> None:
        """Put a card in (taking out any other first); returns once pcscd has seen it, so
        a client asking right after finds it."""
        self.eject()
        self.applet = applet
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._socket = socket.create_connection((self.host, self.port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._socket.settimeout(None)
        self._seen.clear()
        self._thread = threading.Thread(target=serve, args=(self._socket, applet, self._seen),
                                        daemon=True, name="virtual-ukey")
        self._thread.start()
        if not self._seen.wait(timeout):
            raise TimeoutError("pcscd did not take the virtual card")

    def eject(self) -> None:
        """Take the card out: pcscd sees the reader empty at its next poll."""
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._socket.close()
            self._socket = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.applet = None


def serve(sock: socket.socket, applet: UKeyApplet, seen: threading.Event | None = None) -> None:
    """Answer vpcd until the connection ends. `seen` is set when vpcd first reads the ATR
    on this connection: pcscd's presence poll has taken the card, and a client connecting
    from then on reaches it (pcscd powers it on insertion or, if it missed a quick swap,
    on the client's connect)."""
    while True:
        payload = _receive(sock)
        if payload is None:
            return
        if len(payload) == 1:
            control = payload[0]
            if control in (POWER_OFF, POWER_ON, RESET):
                applet.reset()
            elif control == GET_ATR:
                _send(sock, atr())
                if seen is not None:
                    seen.set()
            continue
        _send(sock, applet.process(payload))


def _receive(sock: socket.socket) -> bytes | None:
    header = _exactly(sock, 2)
    if header is None:
        return None
    return _exactly(sock, struct.unpack(">H", header)[0])


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _send(sock: socket.socket, payload: bytes) -> None:
    try:
        sock.sendall(struct.pack(">H", len(payload)) + payload)
    except OSError:
        pass  # the reader went away; _receive notices and the loop ends


def load_applet(key_file: Path, certificate_file: Path, pin: str) -> UKeyApplet:
    """A card personalised from the files `hpf issue-ukey` writes."""
    certificate = x509.load_pem_x509_certificate(Path(certificate_file).read_bytes())
    return UKeyApplet(load_signer(Path(key_file).read_bytes()),
                      certificate.public_bytes(serialization.Encoding.DER), pin)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="虚拟 UKey（经 vsmartcard-vpcd 接入 pcscd）")
    parser.add_argument("--key", required=True, help="卡内私钥（PEM）")
    parser.add_argument("--certificate", required=True, help="卡内证书（PEM）")
    parser.add_argument("--pin", required=True)
    parser.add_argument("--port", type=int, default=VPCD_PORT, help="vpcd 端口")
    args = parser.parse_args(argv)
    applet = load_applet(Path(args.key), Path(args.certificate), args.pin)
    # A card stays in: if pcscd restarts, plug it in again (the PIN counter carries on).
    while True:
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=2) as sock:
                sock.settimeout(None)
                serve(sock, applet)
        except OSError:
            pass
        time.sleep(0.5)


if __name__ == "__main__":
    main()
