"""HTTP front end: EC2 Query API, STS (sts.py), the credential endpoints
(metadata.py) + the unsigned /_sim/ admin endpoints."""
import json
import re
import socket
import threading
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import auth, host, identity, metadata, populate, sts, xmlout
from .errors import ApiError

VERSION = "2016-11-15"


class Drop(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The status line and headers go out in one write, the body in another: with
    # Nagle's algorithm the body then waits for the client's delayed ACK (40 ms on
    # Linux) on every answer after the first of a connection.  EC2 has no such stall.
    disable_nagle_algorithm = True
    server_version = "AmazonEC2"
    sys_version = ""
    sim = None  # set by make_server

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def date_time_string(self, timestamp=None):
        return formatdate(timestamp, usegmt=True)

    def _send(self, status, body, ctype="text/xml;charset=UTF-8", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", self._rid)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def _handle(self):
        self._rid = str(uuid.uuid4())
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        url = urlsplit(self.path)
        if url.path.startswith("/_sim/"):
            return self._admin(url.path, body)
        sim = self.sim
        if metadata.kind(url.path):
            sim.stats_inc(metadata.kind(url.path))
            return self._send(*metadata.serve(self.command, url.path, url.query, self.headers))
        action = "?"
        service = "ec2"
        try:
            params = self._params(url, body)
            action = params.get("Action") or "?"
            if action in sts.UNSIGNED and "Authorization" not in self.headers:
                service = "sts"
                run = lambda: sts.response(action, sts.call_unsigned(action, params), self._rid)
            else:
                try:
                    access, region, service = auth.verify(self.command, url.path or "/", url.query,
                                                          self.headers, body)
                except ApiError:
                    sim.stats_inc("_auth_failures")
                    raise
                _record_signature(self.headers, url.query)
                if (service == "sts") != (action in sts.ACTIONS):
                    raise ApiError("SignatureDoesNotMatch", "Credential should be scoped to correct "
                                   f"service: '{'sts' if action in sts.ACTIONS else 'ec2'}'. ", 403)
                try:
                    identity.check(access, service)
                except ApiError:
                    sim.stats_inc("_expired_keys")
                    raise
                identity.record(access, service, action)
                if service == "sts":
                    run = lambda: sts.response(action, sts.call(access, action, params), self._rid)
                else:
                    run = lambda: xmlout.response(action, sim.api.call(region, action, params),
                                                  self._rid)
            if action == "?":
                raise ApiError("MissingAction", "The request must contain the parameter Action")
            if params.get("Version") not in (None, VERSION):
                pass  # older versions are accepted: same shapes for what we implement
            ov = _take_override(action)
            if ov is not None:
                return self._send_override(ov)
            verdict = sim.faults.before(action)
            if verdict == "drop":
                raise Drop()
            if verdict:
                time.sleep(float(verdict))
            if service == "sts":
                sim.stats_inc(action)  # EC2's actions are counted by api.call()
            out = run()
            if sim.faults.fire("commit-drop", action):
                raise Drop()
            self._send(200, out)
        except Drop:
            sim.log(f"dropping the connection of a {action} request")
            self._drop()
        except ApiError as e:
            if service == "sts":
                return self._send(e.status, sts.error(e, self._rid))
            self._send(e.status, xmlout.error(e.code, e.message, self._rid))
        except Exception as e:  # a bug: answer like EC2 would, and say so on stderr
            import traceback
            traceback.print_exc()
            self._send(500, xmlout.error("InternalError", f"An internal error has occurred ({e!r})", self._rid))

    def _params(self, url, body):
        """The Query parameters of the query string and a form body."""
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if self.command == "POST" and body and ctype in ("", "application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        for k in [k for k in params if k.startswith("X-Amz-")]:
            del params[k]
        return params

    def _send_override(self, ov):
        """Answers with a hostile body from POST /_sim/override (see hostile.py)."""
        from . import hostile
        status, ctype, length, chunks = hostile.render(ov)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.close_connection = True
        self.send_header("x-amzn-RequestId", self._rid)
        self.end_headers()
        try:
            for c in chunks:
                self.wfile.write(c)
        except OSError:  # the client gave up on a huge answer: fine
            self.close_connection = True

    def _admin(self, path, body):
        sim = self.sim
        if self.client_address[0] != "127.0.0.1" and not self.client_address[0].startswith("127."):
            return self._send(403, b"loopback only\n", "text/plain")
        try:
            if path == "/_sim/faults":
                if self.command == "POST":
                    sim.faults.set(body.decode().strip())
                out = sim.faults.dump()
            elif path == "/_sim/config" and self.command == "POST":
                cfg = json.loads(body or b"{}")
                with sim.api.lock:
                    for k, v in cfg.items():
                        if k not in sim.api.cfg:
                            raise ValueError(f"unknown config key {k}")
                        if k == "sshd_options":
                            host.check_sshd_options(v)
                        sim.api.cfg[k] = v
                out = dict(sim.api.cfg)
            elif path == "/_sim/config":
                out = dict(sim.api.cfg)
            elif path == "/_sim/state":
                out = sim.api.dump()
            elif path == "/_sim/populate" and self.command == "POST":
                out = populate.populate(sim.api, json.loads(body or b"{}"))
            elif path == "/_sim/override":
                if self.command == "POST":
                    _set_override(json.loads(body or b"{}"))
                with _HOSTILE_LOCK:
                    out = [{k: v for k, v in o.items() if k != "body"} for o in _OVERRIDES]
            elif path == "/_sim/signatures":
                with _HOSTILE_LOCK:
                    out = sorted(_SIGNATURES)
            elif path in identity.ADMIN_PATHS:
                out = identity.admin(path, self.command, body)
            elif path == "/_sim/stats":
                with sim.api.lock:
                    out = {"requests": dict(sim.api.stats), "faults": sim.faults.dump()["injected"]}
                with sim.faults.lock:
                    out["faults_by_action"] = dict(sim.faults.by_action)
            else:
                return self._send(404, b'{"error": "no such endpoint"}', "application/json")
        except ValueError as e:
            return self._send(400, json.dumps({"error": str(e)}).encode(), "application/json")
        self._send(200, json.dumps(out, default=str, indent=1).encode(), "application/json")


# Hostile answers (POST /_sim/override) and the signatures verified so far
# (GET /_sim/signatures, for the secrets audit).
_HOSTILE_LOCK = threading.Lock()
_OVERRIDES = []
_SIGNATURES = set()


def _record_signature(headers, query):
    auth = headers.get("Authorization") or ""
    m = re.search(r"Signature=([0-9a-fA-F]+)", auth)
    sig = m.group(1) if m else dict(parse_qsl(query)).get("X-Amz-Signature")
    if sig:
        with _HOSTILE_LOCK:
            _SIGNATURES.add(sig)


def _set_override(o):
    """{"action": A, "status": 200, "body": str, "gen": kind, "size": n,
    "count": n, "ctype": ...}; {} or {"clear": true} clears them all."""
    if not isinstance(o, dict):
        raise ValueError("override: a JSON object")
    with _HOSTILE_LOCK:
        if not o or o.get("clear"):
            _OVERRIDES.clear()
            return
        if not o.get("action"):
            raise ValueError("override: action missing")
        o = dict(o, count=int(o.get("count", 1)))
        _OVERRIDES.append(o)


def _take_override(action):
    with _HOSTILE_LOCK:
        for o in _OVERRIDES:
            if o["action"] in (action, "*") and o["count"] != 0:
                o["count"] -= 1
                return dict(o)
    return None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    verbose = False
