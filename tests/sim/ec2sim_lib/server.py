"""HTTP front end: EC2 Query API + the unsigned /_sim/ admin endpoints."""
import json
import socket
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import auth, xmlout
from .errors import ApiError

VERSION = "2016-11-15"


class Drop(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonEC2"
    sys_version = ""
    sim = None  # set by make_server

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def date_time_string(self, timestamp=None):
        return formatdate(timestamp, usegmt=True)

    def _send(self, status, body, ctype="text/xml;charset=UTF-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
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

    def _handle(self):
        self._rid = str(uuid.uuid4())
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        url = urlsplit(self.path)
        if url.path.startswith("/_sim/"):
            return self._admin(url.path, body)
        sim = self.sim
        action = "?"
        try:
            try:
                access, region = auth.verify(self.command, url.path or "/", url.query, self.headers, body)
            except ApiError:
                sim.stats_inc("_auth_failures")
                raise
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if self.command == "POST" and body and ctype in ("", "application/x-www-form-urlencoded"):
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            for k in [k for k in params if k.startswith("X-Amz-")]:
                del params[k]
            action = params.get("Action")
            if not action:
                raise ApiError("MissingAction", "The request must contain the parameter Action")
            if params.get("Version") not in (None, VERSION):
                pass  # older versions are accepted: same shapes for what we implement
            verdict = sim.faults.before(action)
            if verdict == "drop":
                raise Drop()
            if verdict:
                time.sleep(float(verdict))
            result = sim.api.call(region, action, params)
            if sim.faults.fire("commit-drop", action):
                raise Drop()
            self._send(200, xmlout.response(action, result, self._rid))
        except Drop:
            sim.log(f"dropping the connection of a {action} request")
            self._drop()
        except ApiError as e:
            self._send(e.status, xmlout.error(e.code, e.message, self._rid))
        except Exception as e:  # a bug: answer like EC2 would, and say so on stderr
            import traceback
            traceback.print_exc()
            self._send(500, xmlout.error("InternalError", f"An internal error has occurred ({e!r})", self._rid))

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
                        sim.api.cfg[k] = v
                out = dict(sim.api.cfg)
            elif path == "/_sim/config":
                out = dict(sim.api.cfg)
            elif path == "/_sim/state":
                out = sim.api.dump()
            elif path == "/_sim/stats":
                with sim.api.lock:
                    out = {"requests": dict(sim.api.stats), "faults": sim.faults.dump()["injected"]}
            else:
                return self._send(404, b'{"error": "no such endpoint"}', "application/json")
        except ValueError as e:
            return self._send(400, json.dumps({"error": str(e)}).encode(), "application/json")
        self._send(200, json.dumps(out, default=str, indent=1).encode(), "application/json")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    verbose = False
