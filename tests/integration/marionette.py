#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives a headless Firefox through Marionette for the client-authentication test.

Answers the token's PIN prompt once (a second prompt is cancelled, so a wrong PIN fails in
seconds), waits until Firefox sees the token, opens the page, checks its text, and saves a
screenshot. Standard library only. Exit status: 0 when every expected text was on the page,
1 otherwise (with the reason on stderr).
"""

import argparse
import base64
import json
import socket
import sys
import time

# Installed in the chrome context: answers the PIN prompt of our token through the
# common-dialog-loaded notification (the prompt is a separate modal window, not an alert).
PIN_ANSWERER = r"""
const [label, pin] = arguments;
const state = { answered: 0, cancelled: 0, others: 0, texts: [] };
const observer = {
  observe(subject, topic, data) {
    const win = subject.document ? subject : subject.ownerGlobal;
    const doc = win && win.document;
    if (!doc) {
      return;
    }
    const info = doc.getElementById("infoBody");
    const text = info ? info.textContent : "";
    const field = doc.getElementById("password1Textbox");
    const dialog = doc.querySelector("dialog");
    state.texts.push(text);
    if (!dialog) {
      return;
    }
    if (!field || !text.includes(label)) {
      state.others++;
      dialog.cancelDialog();
    } else if (state.answered === 0) {
      state.answered++;
      field.value = pin;
      dialog.acceptDialog();
    } else {
      state.cancelled++;
      dialog.cancelDialog();
    }
  },
};
Services.obs.addObserver(observer, "common-dialog-loaded");
window.mdp11PinState = state;
window.mdp11PinObserver = observer;
return true;
"""

PIN_STATE = "return window.mdp11PinState || null;"

TOKEN_VISIBLE = r"""
const label = arguments[0];
return (async () => {
  const db = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
  let modules = db.listModules();
  if (modules && typeof modules.then === "function") {
    modules = await modules;
  }
  const names = [];
  for (const m of modules) {
    let slots = m.slots;
    if (!slots && typeof m.listSlots === "function") {
      slots = Array.from(m.listSlots());
    }
    for (const s of slots || []) {
      names.push(s.tokenName);
      if (s.tokenName === label) {
        return { found: true, names };
      }
    }
  }
  return { found: false, names };
})();
"""

PAGE_STATE = r"""
return [location.href, document.documentURI, document.readyState,
        document.body ? document.body.innerText : ""];
"""


SCROLL_TO = r"""
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const i = n.data.indexOf(arguments[0]);
  if (i >= 0) {
    const r = document.createRange();
    r.setStart(n, i);
    r.setEnd(n, i + arguments[0].length);
    window.scrollTo(0, window.scrollY + r.getBoundingClientRect().top - 8);
    return true;
  }
}
return false;
"""


class MarionetteError(Exception):
    pass


class Marionette:
    def __init__(self, port, deadline):
        self.deadline = deadline
        self.sock = None
        last = None
        while time.time() < deadline:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), 2)
                break
            except OSError as e:
                last = e
                time.sleep(0.2)
        if self.sock is None:
            raise MarionetteError("cannot connect to Marionette on port %d: %s" % (port, last))
        self.buf = b""
        self.msg_id = 0
        self.hello = self._read()

    def _timeout(self):
        left = self.deadline - time.time()
        if left <= 0:
            raise MarionetteError("time limit reached")
        return left

    def _read(self):
        while True:
            colon = self.buf.find(b":")
            if colon > 0:
                length = int(self.buf[:colon])
                if len(self.buf) >= colon + 1 + length:
                    body = self.buf[colon + 1:colon + 1 + length]
                    self.buf = self.buf[colon + 1 + length:]
                    return json.loads(body)
            self.sock.settimeout(self._timeout())
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise MarionetteError("time limit reached waiting for Firefox")
            if not chunk:
                raise MarionetteError("Firefox closed the Marionette connection")
            self.buf += chunk

    def send(self, name, params=None):
        self.msg_id += 1
        body = json.dumps([0, self.msg_id, name, params or {}]).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body)
        while True:
            reply = self._read()
            if isinstance(reply, list) and len(reply) == 4 and reply[1] == self.msg_id:
                break
        if reply[2]:
            err = reply[2]
            raise MarionetteError("%s: %s: %s" % (name, err.get("error"), err.get("message")))
        return reply[3]

    def script(self, source, args=None):
        res = self.send("WebDriver:ExecuteScript", {"script": source, "args": args or []})
        return res.get("value") if isinstance(res, dict) else res


def load_page(m, url, expect, screenshot, deadline):
    """Opens url in the content context; returns the page text or raises."""
    m.send("Marionette:SetContext", {"value": "content"})
    try:
        # Returns early (or times out) while the PIN prompt is open: poll the page below.
        m.send("WebDriver:Navigate", {"url": url})
    except MarionetteError as e:
        print("navigate: %s (polling the page)" % e)
    while True:
        try:
            state = m.script(PAGE_STATE)
        except MarionetteError as e:
            # A script can meet the document being replaced: ask again.
            if time.time() > deadline - 3:
                raise
            print("page state: %s (retrying)" % e)
            state = None
        if isinstance(state, list) and len(state) == 4:
            href, uri, ready, text = state
            if uri.startswith("about:neterror") or uri.startswith("about:certerror"):
                break
            if href.startswith(url) and ready == "complete" and text:
                break
        if time.time() > deadline - 3:
            raise MarionetteError("%s did not load (last state %r)" % (url, state and state[:3]))
        time.sleep(0.2)
    if screenshot:
        # Bring the first expected text (the client certificate) to the top of the view.
        if expect and not uri.startswith("about:"):
            m.script(SCROLL_TO, [expect[0]])
        shot = m.send("WebDriver:TakeScreenshot", {"full": False})
        data = shot.get("value") if isinstance(shot, dict) else shot
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(data))
        print("screenshot: %s" % screenshot)
    if uri.startswith("about:"):
        raise MarionetteError("Firefox shows an error page for %s: %s" % (url, uri))
    missing = [t for t in expect if t not in text]
    if missing:
        print("page text:\n%s" % text[:4000])
        raise MarionetteError("%s does not show: %s" % (url, missing))
    print("%s shows: %s" % (url, expect))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True, help="Marionette port")
    ap.add_argument("--token", required=True, help="token label (named by the PIN prompt)")
    ap.add_argument("--pin", required=True)
    ap.add_argument("--page", action="append", default=[], required=True,
                    help="URL|TEXT|TEXT...: a page to open and texts it must show (repeatable)")
    ap.add_argument("--screenshot", action="append", default=[],
                    help="PNG file for the screenshot of the page with the same position")
    ap.add_argument("--timeout", type=float, default=60.0, help="overall limit in seconds")
    a = ap.parse_args()

    deadline = time.time() + a.timeout
    ok = False
    m = None
    try:
        m = Marionette(a.port, deadline)
        m.send("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {}}})
        m.send("WebDriver:SetTimeouts", {"pageLoad": int(a.timeout * 1000), "script": 30000})
        m.send("Marionette:SetContext", {"value": "chrome"})
        m.script(PIN_ANSWERER, [a.token, a.pin])

        seen = None
        while True:
            seen = m.script(TOKEN_VISIBLE, [a.token])
            if seen and seen.get("found"):
                break
            if time.time() > deadline - 5:
                raise MarionetteError("Firefox does not see token %r (tokens: %s)"
                                      % (a.token, seen and seen.get("names")))
            time.sleep(0.3)
        print("firefox sees the token %r" % a.token)

        failure = None
        for i, page in enumerate(a.page):
            url, *expect = page.split("|")
            shot = a.screenshot[i] if i < len(a.screenshot) else None
            try:
                load_page(m, url, expect, shot, deadline)
            except MarionetteError as e:
                failure = e
                break

        m.send("Marionette:SetContext", {"value": "chrome"})
        state = m.script(PIN_STATE)
        print("PIN prompts: %s" % json.dumps(state))
        if failure:
            raise failure
        if not state or state.get("answered") != 1 or state.get("cancelled"):
            raise MarionetteError("the PIN prompt was not answered exactly once: %s" % state)
        ok = True
    except (MarionetteError, OSError, ValueError, TypeError, KeyError) as e:
        print("marionette: %s" % e, file=sys.stderr)
    finally:
        if m is not None:
            try:
                m.deadline = time.time() + 5
                m.send("Marionette:Quit", {"flags": ["eForceQuit"]})
            except (MarionetteError, OSError, ValueError):
                pass
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
