"""Open a page in real headless Chromium and record what a person's browser would do with it.

A minimal DevTools-protocol client over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, messages
NUL-terminated JSON): no Python dependency, no port, nothing to download. Debian's ``chromium``
package is the browser. It records console errors, uncaught exceptions, JavaScript dialogs and every
network request the page makes, evaluates JavaScript in the page and takes a full-page screenshot.

Use :func:`find_chromium` to locate the browser (``PREFDATA_CHROMIUM`` overrides ``PATH``).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Flags that keep headless Chromium from phoning home (the machine has no network; without them it
#: still tries to reach Google services and logs errors unrelated to the page).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def find_chromium() -> str | None:
    return os.environ.get("PREFDATA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    """What happened while a page loaded."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    evaluated: Any = None
    screenshot: bytes = b""


class ChromiumError(RuntimeError):
    pass


class _Pipe:
    def __init__(self, executable: str, profile: Path) -> None:
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Move the child's ends above 10 so that the dup2 to fds 3 and 4 below cannot clobber them.
        child_in = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.log = open(profile / "chromium.log", "wb")  # noqa: SIM115
        argv = [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        self.pid = os.posix_spawn(
            executable,
            argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, self.log.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, self.log.fileno(), 2),
                (os.POSIX_SPAWN_DUP2, child_in, 3),
                (os.POSIX_SPAWN_DUP2, child_out, 4),
            ],
            setsid=True,
        )
        os.close(child_in)
        os.close(child_out)
        self.write_fd, self.read_fd = to_chrome_w, from_chrome_r
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        msg_id = self.next_id
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events[i]
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChromiumError("timed out waiting for Chromium (see chromium.log in the profile dir)")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise ChromiumError("Chromium closed the DevTools pipe (crashed?)")
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message = json.loads(raw)
        if message.get("method") == "Page.javascriptDialogOpening":
            # An alert() blocks the page until answered: dismiss it (it is recorded as a dialog).
            self.next_id += 1
            reply = {"id": self.next_id, "method": "Page.handleJavaScriptDialog", "params": {"accept": False},
                     "sessionId": message.get("sessionId")}
            os.write(self.write_fd, json.dumps(reply).encode() + b"\0")
        return message

    def close(self) -> None:
        try:
            os.write(self.write_fd, json.dumps({"id": 10**6, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
        else:
            os.killpg(self.pid, signal.SIGKILL)  # the group setsid made: this browser and its helpers only
            os.waitpid(self.pid, 0)
        os.close(self.write_fd)
        os.close(self.read_fd)
        self.log.close()


def visit(path: Path, *, evaluate: str | None = None, width: int = 1280, height: int = 900,
          full_page: bool = True, executable: str | None = None, timeout: float = 60) -> PageVisit:
    """Load ``path`` (a local file) and return console errors, requests, dialogs, a value and a screenshot.

    ``evaluate`` is a JavaScript expression run after the load event; its JSON value is returned.
    """
    executable = executable or find_chromium()
    if not executable:
        raise ChromiumError("chromium not found")
    url = Path(path).resolve().as_uri()
    result = PageVisit()
    with tempfile.TemporaryDirectory(prefix="prefdata-chromium-") as profile:
        pipe = _Pipe(executable, Path(profile))
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            pipe.events.clear()  # only what the page itself does from here on
            nav = pipe.send("Page.navigate", {"url": url}, session=session)
            if nav.get("errorText"):
                raise ChromiumError(f"navigation failed: {nav['errorText']}")
            pipe.wait_for("Page.loadEventFired", timeout=timeout)
            time.sleep(0.3)  # let late console messages arrive
            if evaluate:
                reply = pipe.send("Runtime.evaluate", {"expression": evaluate, "returnByValue": True}, session=session)
                if "exceptionDetails" in reply:
                    raise ChromiumError(f"evaluate failed: {reply['exceptionDetails']}")
                result.evaluated = reply["result"].get("value")
            shot = pipe.send("Page.captureScreenshot",
                             {"format": "png", "captureBeyondViewport": full_page}, session=session, timeout=timeout)
            result.screenshot = base64.b64decode(shot["data"])
            pipe.send("Runtime.evaluate", {"expression": "0"}, session=session)  # flush pending events
        finally:
            pipe.close()
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            result.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            result.console_errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            result.console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            result.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Page.javascriptDialogOpening":
            result.dialogs.append(params.get("message", ""))
    result.requests = [u for u in result.requests if u != url]  # the page itself is not a request it makes
    return result


def main() -> None:
    """Screenshot a report for the docs: ``python -m tests.report.report_chromium PAGE PNG [--height H]``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1800, help="viewport height; the top of the page is captured")
    args = parser.parse_args()
    page = visit(args.page, width=args.width, height=args.height, full_page=False)
    if page.console_errors or page.requests:
        raise SystemExit(f"console errors {page.console_errors}, requests {page.requests}")
    args.png.write_bytes(page.screenshot)
    print(f"wrote {args.png} ({len(page.screenshot):,} bytes)")


if __name__ == "__main__":
    main()
