"""The real UKey path for tests: a private pcscd with the vpcd reader driver, a virtual card
in its slot (served from a thread here, so tests can swap, lock or pull it), and the UKey
agent started exactly as a unit runs it. One stack per test session, started by the first
test that needs it and stopped at the session's end (tests/conftest.py).

    stack = smartcard.stack(demo)        # started, unit 0's card inserted
    stack.insert_demo_card(demo, unit=1) # another unit's card
    stack.call("/sign", {"nonce": ..., "pin": ...})
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request

from services.ukey.applet import UKeyApplet
from web.ukey.emulator import VirtualSlot, load_applet
from web.ukey.stack import PcscDaemon, StackError, end_process, free_port, start_agent

#: The agent's port for the session; every test app's login page points there.
AGENT_PORT = free_port()
AGENT_URL = f"http://127.0.0.1:{AGENT_PORT}"
#: The live test servers' ports change per test, so the agent allows any port here.
TEST_ORIGIN = "http://127.0.0.1:*"


class SmartCardStack:
    def __init__(self) -> None:
        self.pcscd = PcscDaemon()
        self.slot: VirtualSlot | None = None
        self.agent = None
        self.card_of: tuple[int, int] | None = None  # (unit index, id of the applet)
        self.last_status: tuple[int, dict] | None = None  # the agent's last /status answer

    def start(self, demo: dict) -> None:
        self.pcscd.start()
        # In-process pyscard (tests reading the card directly) reaches the same pcscd.
        os.environ["PCSCLITE_CSOCK_NAME"] = str(self.pcscd.socket_path)
        self.slot = VirtualSlot(self.pcscd.vpcd_port)
        self.insert_demo_card(demo)
        self.agent = start_agent(self.pcscd.env, [TEST_ORIGIN], AGENT_PORT)
        if not self.wait_for_card(20.0):
            raise StackError(f"UKey 助手在 20 秒内未读到虚拟卡：{self.last_status}")

    def insert(self, applet: UKeyApplet) -> UKeyApplet:
        self.card_of = None
        self.slot.insert(applet)
        return applet

    def insert_demo_card(self, demo: dict, unit: int = 0) -> UKeyApplet:
        """A fresh card (PIN tries full) personalised like the unit's demo UKey."""
        ukey = demo["units"][unit]["ukey"]
        applet = self.insert(load_applet(ukey["card_key_file"], ukey["certificate_file"],
                                         ukey["pin"]))
        self.card_of = (unit, id(applet))
        return applet

    def ensure_demo_card(self, demo: dict, unit: int = 0, fresh: bool = False) -> None:
        """Unit's demo card in the slot, unlocked (put back if a test swapped or locked it),
        and seen by the agent: pcscd notices a card at its next poll, and a login page
        that asks before then says 未检测到 UKey."""
        applet = self.slot.applet
        if (not fresh and self.card_of == (unit, id(applet)) and applet is not None
                and not applet.locked and self.wait_for_card(2.0)):
            return
        self.insert_demo_card(demo, unit)
        if self.wait_for_card(4.0):  # read within a second when the swap took
            return
        # pcscd's vpcd reader can miss a quick swap and stay empty on a busy machine; a
        # new pcscd and agent start from a clean reader.
        logging.getLogger(__name__).warning("UKey 助手读不到虚拟卡（%s），重启 pcscd 与助手",
                                            self.last_status)
        self.stop()
        self.__init__()
        self.start(demo)
        self.insert_demo_card(demo, unit)
        if not self.wait_for_card():
            raise StackError(f"UKey 助手读不到虚拟卡：{self.last_status}")

    def wait_for_card(self, seconds: float = 10.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status, body, _ = self.call("/status")
            self.last_status = (status, body)
            if status == 200:
                return True
            time.sleep(0.2)
        return False

    def eject(self) -> None:
        self.card_of = None
        self.slot.eject()

    def call(self, path: str, body: dict | None = None, origin: str = "http://127.0.0.1:5000",
             port: int = AGENT_PORT, headers: dict | None = None) -> tuple[int, dict, dict]:
        """(status, JSON body, response headers) of a request to the agent."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", method="POST" if body is not None else "GET",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **({"Origin": origin} if origin else {}),
                     **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read()), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}"), dict(error.headers)

    def stop(self) -> None:
        if self.slot is not None:
            self.slot.eject()
        end_process(self.agent)
        self.pcscd.stop()


_stack: SmartCardStack | None = None


def stack(demo: dict, unit: int = 0) -> SmartCardStack:
    """The session's stack, started on first use, with the unit's demo card inserted."""
    global _stack
    if _stack is None:
        started = SmartCardStack()
        try:
            started.start(demo)
        except StackError:
            started.stop()
            raise
        _stack = started
    _stack.ensure_demo_card(demo, unit)
    return _stack


def stop() -> None:
    global _stack
    if _stack is not None:
        _stack.stop()
        _stack = None
