"""UKey 助手: the 驱动程序 a unit downloads from the hall and runs on its PC (manual 1.1).

It reads the UKey through PC/SC (pyscard) and serves the hall's login page on
http://127.0.0.1 only: `GET /status` says whether a reader and a UKey are there, `POST
/sign` {"nonce", "pin"} verifies the operator's PIN on the card and has the card sign the
hall's challenge, answering {"certificate", "signature"} (base64 DER). Only the hall's own
origin may call it: other pages get no CORS grant and a 403, and a Host header other than
the loopback address is refused (DNS rebinding).

One file, the standard library and pyscard, so a unit can run it as downloaded:

    pip install pyscard && python3 hpf-ukey-agent.py --origin https://hall.example
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The card's protocol; services/ukey/applet.py is the card side (a test keeps them equal).
AID = bytes.fromhex("F0485046554B4559")
DEFAULT_PORT = 18960
CHUNK = 0xE0
MAX_BODY = 4096
MAX_NONCE = 255
#: pcscd polls a reader about every 0.4 s.
RETRY_AFTER = 0.5

MESSAGES = {
    "no_reader": "未检测到 UKey 读卡器，请确认 UKey（读卡器）已连接、智能卡服务已启动，"
                 "然后点击“重新检测”",
    "no_card": "未检测到 UKey，请插入 UKey 后点击“重新检测”",
    "not_ukey": "插入的卡片不是住房公积金 UKey，请插入本单位的 UKey",
    "wrong_pin": "PIN 码错误，还可尝试 {tries_left} 次，连续输错将锁定 UKey",
    "locked": "UKey 已锁定（PIN 码连续输错次数过多），请携带 UKey 到公积金中心解锁",
    "card_error": "读取 UKey 失败，请拔出 UKey 重新插入后再试",
    "bad_request": "请求无效：须提供 nonce 与 PIN 码",
    "bad_pin": "请输入 UKey 的 PIN 码（4-16 位数字或字母）",
    "origin": "仅允许住房公积金网上业务大厅的页面调用 UKey 助手",
}


class CardError(Exception):
    """What went wrong at the card, as the login page shows it."""

    def __init__(self, code: str, status: int = 409, **extra):
        super().__init__(code)
        self.code, self.status, self.extra = code, status, extra

    def body(self) -> dict:
        return {"code": self.code, "message": MESSAGES[self.code].format(**self.extra),
                **self.extra}


class Card:
    """The UKey in the first reader that holds a card, for one `with` block. Leaving the
    block powers the card down, so a verified PIN never outlives the request."""

    def __init__(self, wait: float = 1.0):
        self.wait = wait
        self.service = self.connection = None
        self.reader = ""

    def __enter__(self) -> Card:
        """Opens the card; a failure at the first exchange is tried once more after the
        reader's next poll (a card pulled a moment ago still looks present until then)."""
        try:
            return self._opened()
        except CardError as error:
            if error.code != "card_error":
                raise
        time.sleep(RETRY_AFTER)
        return self._opened()

    def _opened(self) -> Card:
        try:
            return self._open()
        except BaseException:
            self.__exit__()
            raise

    def _open(self) -> Card:
        from smartcard.CardRequest import CardRequest
        from smartcard.CardType import AnyCardType
        from smartcard.Exceptions import CardRequestTimeoutException, SmartcardException
        from smartcard.pcsc.PCSCExceptions import BaseSCardException
        from smartcard.System import readers
        try:
            found = readers()
        except (SmartcardException, BaseSCardException) as exc:  # no PC/SC service
            raise CardError("no_reader") from exc
        if not found:
            raise CardError("no_reader")
        try:
            # Keep the service: dropping it disconnects the card.
            self.service = CardRequest(timeout=self.wait, cardType=AnyCardType(),
                                       readers=found).waitforcard()
            self.connection = self.service.connection
            self.connection.connect()
        except CardRequestTimeoutException as exc:
            raise CardError("no_card") from exc
        except SmartcardException as exc:
            raise CardError("no_card") from exc
        self.reader = str(self.connection.getReader())
        _, status = self._send([0x00, 0xA4, 0x04, 0x00, len(AID), *AID])
        if status != 0x9000:
            raise CardError("not_ukey")
        return self

    def __exit__(self, *exc) -> None:
        if self.service is None:
            return
        try:
            self.service.__exit__(None, None, None)  # disconnect (power down) and release
        except Exception:  # the card may be gone already
            pass
        self.service = None

    def _send(self, apdu: list[int]) -> tuple[bytes, int]:
        from smartcard.Exceptions import SmartcardException
        try:
            data, sw1, sw2 = self.connection.transmit(apdu)
        except SmartcardException as exc:
            raise CardError("card_error") from exc
        return bytes(data), (sw1 << 8) | sw2

    def certificate(self) -> bytes:
        """The certificate (DER), read in chunks by offset."""
        content = b""
        while True:
            chunk, status = self._send([0x00, 0xB0, len(content) >> 8, len(content) & 0xFF,
                                        CHUNK])
            if status != 0x9000 or len(content) > 0x7FFF:
                raise CardError("card_error")
            content += chunk
            if len(chunk) < CHUNK:
                return content

    def tries_left(self) -> int | None:
        """PIN tries left (None once verified); CardError("locked") when there are none."""
        return self._check_pin([0x00, 0x20, 0x00, 0x01])

    def verify(self, pin: str) -> None:
        pin_bytes = pin.encode("ascii")
        self._check_pin([0x00, 0x20, 0x00, 0x01, len(pin_bytes), *pin_bytes], wrong=True)

    def _check_pin(self, apdu: list[int], wrong: bool = False) -> int | None:
        _, status = self._send(apdu)
        if status == 0x9000:
            return None
        if status == 0x6983:
            raise CardError("locked", status=423)
        if status & 0xFFF0 == 0x63C0:
            if wrong:
                raise CardError("wrong_pin", status=401, tries_left=status & 0x0F)
            return status & 0x0F
        raise CardError("card_error")

    def sign(self, data: bytes) -> bytes:
        signature, status = self._send([0x00, 0x88, 0x00, 0x00, len(data), *data, 0x00])
        if status == 0x6983:
            raise CardError("locked", status=423)
        if status != 0x9000:
            raise CardError("card_error")
        return signature


class Agent(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, origins: list[str], wait: float = 1.0):
        super().__init__(("127.0.0.1", port), Handler)
        self.origins = [_origin_pattern(origin) for origin in origins]
        self.hosts = {f"127.0.0.1:{self.server_port}", f"localhost:{self.server_port}"}
        self.wait = wait
        self.card_lock = threading.Lock()  # one card, one conversation at a time

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and any(pattern.fullmatch(origin) for pattern in self.origins)


class Handler(BaseHTTPRequestHandler):
    server: Agent
    server_version = "HPF-UKey-Agent/1"

    def do_OPTIONS(self) -> None:
        if self._refused():
            return
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if self._refused():
            return
        if self.path != "/status":
            return self._reply(404, {"code": "not_found", "message": "无此接口"})
        self._answer(self._status)

    def do_POST(self) -> None:
        if self._refused():
            return
        if self.path != "/sign":
            return self._reply(404, {"code": "not_found", "message": "无此接口"})
        self._answer(self._sign)

    def _answer(self, action) -> None:
        try:
            self._reply(200, action())
        except CardError as error:
            self._reply(error.status, error.body())
        except Exception:  # a reader or driver failing in a way not foreseen
            self._reply(500, CardError("card_error").body())

    def _status(self) -> dict:
        with self.server.card_lock, Card(self.server.wait) as card:
            return {"reader": card.reader, "tries_left": card.tries_left(),
                    "certificate": base64.b64encode(card.certificate()).decode()}

    def _sign(self) -> dict:
        nonce, pin = self._sign_request()
        with self.server.card_lock, Card(self.server.wait) as card:
            card.verify(pin)
            signature = card.sign(nonce)
            return {"certificate": base64.b64encode(card.certificate()).decode(),
                    "signature": base64.b64encode(signature).decode(), "reader": card.reader}

    def _sign_request(self) -> tuple[bytes, str]:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY or \
                self.headers.get_content_type() != "application/json":
            raise CardError("bad_request", status=400)
        try:
            body = json.loads(self.rfile.read(length))
            nonce, pin = body["nonce"], body["pin"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CardError("bad_request", status=400) from exc
        if not isinstance(nonce, str) or not 0 < len(nonce.encode()) <= MAX_NONCE:
            raise CardError("bad_request", status=400)
        if not isinstance(pin, str) or not re.fullmatch(r"[0-9A-Za-z]{4,16}", pin):
            raise CardError("bad_pin", status=400)
        return nonce.encode("utf-8"), pin

    def _refused(self) -> bool:
        """Anything but the hall's page, reached at the loopback address, gets a 403."""
        if self.headers.get("Host") in self.server.hosts \
                and self.server.allows(self.headers.get("Origin")):
            return False
        self._reply(403, {"code": "origin", "message": MESSAGES["origin"]}, cors=False)
        return True

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
        self.send_header("Vary", "Origin")

    def _reply(self, status: int, body: dict, cors: bool = True) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        if cors:
            self._cors()
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:
        pass  # requests carry PINs' outcomes; nothing is worth a log line per call


def _origin_pattern(origin: str) -> re.Pattern:
    """An origin as given (`https://hall.example`); `http://127.0.0.1:*` allows any port of
    that host, for a developer's hall whose port changes."""
    origin = origin.rstrip("/")
    if origin.endswith(":*"):
        return re.compile(re.escape(origin[:-2]) + r":\d{1,5}")
    return re.compile(re.escape(origin))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="住房公积金 UKey 助手（供单位网厅登录页调用）")
    parser.add_argument("--origin", action="append", required=True,
                        help="网厅地址，如 https://hall.example（可重复）")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    try:
        agent = Agent(args.port, args.origin)
    except OSError as exc:
        print(f"UKey 助手无法监听 127.0.0.1:{args.port}：{exc}", file=sys.stderr)
        return 1
    print(f"UKey 助手已启动：http://127.0.0.1:{agent.server_port}（允许 {', '.join(args.origin)}）",
          flush=True)
    try:
        agent.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
