"""Temporary credentials the simulator issues, and who signed what.

STS (sts.py), the IAM Identity Center portal, the container credentials
endpoint and IMDS (metadata.py) all issue keys through issue(): an access key
ASIA..., a secret, a session token and an expiry.  auth.py accepts them (the
token is required) and check() refuses them once expired: EC2 answers 400
RequestExpired, STS 403 ExpiredToken, as AWS does.  record() notes which key
signed each request and whose identity (ARN) that is, for
GET /_sim/callers.

Admin (loopback, unsigned):
  GET  /_sim/callers   [{time, access_key, service, action, arn, via}]
  GET  /_sim/issued    [{access_key, arn, via, issued, expires, source}]
  GET  /_sim/issued-secrets   {"credentials": the same with secret_key and
                       token, "tokens": the IMDS session tokens handed out}
                       (for the secrets audit: what gpuctl must never print)
  POST /_sim/expire    {"access_key": K} or {} (all): those keys expire now,
                       as if their time had come (a long command must renew)
  GET|POST /_sim/identity   the settings below (POST a JSON object to change)
    duration         seconds every issued credential lives (null: as asked,
                     DurationSeconds or 3600; the container and IMDS: 3600)
    container_token  the Authorization value the container endpoint wants
    imds_region      what /latest/meta-data/placement/region says
    imds_role        the instance profile's role name
"""
import secrets
import string
import threading
import time

from . import auth
from .errors import ApiError
from .model import ACCOUNT

LOCK = threading.Lock()
ISSUED = {}    # access key -> dict (see issue())
CALLERS = []   # one dict per verified request
TOKENS = []    # other secrets handed out (IMDS session tokens)
STATIC_ARN = f"arn:aws:iam::{ACCOUNT}:user/gpuctl-sim"
DEFAULTS = {"duration": None, "container_token": "CONTAINER-AUTH-TOKEN-EXAMPLE",
            "imds_region": "us-west-1", "imds_role": "gpuctl-instance-role"}
CONFIG = dict(DEFAULTS)
_ALNUM = string.ascii_uppercase + string.digits


def setting(name):
    with LOCK:
        return CONFIG[name]


def configure(cfg):
    if not isinstance(cfg, dict):
        raise ValueError("identity: a JSON object")
    with LOCK:
        for k, v in cfg.items():
            if k not in CONFIG:
                raise ValueError(f"unknown identity setting {k}")
            if k == "duration" and v is not None and (not isinstance(v, (int, float)) or v <= 0):
                raise ValueError("duration: a positive number of seconds or null")
            CONFIG[k] = v
        return dict(CONFIG)


def lifetime(asked):
    """Seconds a new credential lives: the configured duration wins."""
    d = setting("duration")
    return d if d is not None else asked


def issue(arn, via, seconds, source=None, extra=None):
    """New temporary credentials for arn; returns their record."""
    access = "ASIA" + "".join(secrets.choice(_ALNUM) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    # tokens carry '/', '+' and '=' as STS's do, so that encoding is exercised
    token = "IQoJb3JpZ2luX2VjE" + secrets.token_hex(24) + "/+" + secrets.token_urlsafe(24) + "=="
    now = time.time()
    rec = {"access_key": access, "secret_key": secret, "token": token, "arn": arn, "via": via,
           "issued": now, "expires": float(int(now + seconds)), "source": source}
    rec.update(extra or {})
    with LOCK:
        ISSUED[access] = rec
        auth.TEMP_KEYS[access] = (secret, token)
    return rec


def arn_of(access):
    with LOCK:
        rec = ISSUED.get(access)
    return rec["arn"] if rec else STATIC_ARN


def check(access, service):
    """Refuses a verified request whose temporary key has expired (the
    server counts those in /_sim/stats as _expired_keys)."""
    with LOCK:
        rec = ISSUED.get(access)
    if rec is not None and time.time() >= rec["expires"]:
        if service == "sts":
            raise ApiError("ExpiredToken", "The security token included in the request is expired", 403)
        raise ApiError("RequestExpired", "Request has expired.", 400)


def record(access, service, action):
    with LOCK:
        rec = ISSUED.get(access)
        CALLERS.append({"time": time.time(), "access_key": access, "service": service,
                        "action": action, "arn": rec["arn"] if rec else STATIC_ARN,
                        "via": rec["via"] if rec else "static"})


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


ADMIN_PATHS = ("/_sim/callers", "/_sim/issued", "/_sim/issued-secrets", "/_sim/identity",
               "/_sim/expire")


def note_secret(s):
    with LOCK:
        TOKENS.append(s)


def expire(body):
    import json
    which = json.loads(body or b"{}").get("access_key")
    now = time.time()
    with LOCK:
        hit = [r for k, r in ISSUED.items() if which in (None, k)]
        for r in hit:
            r["expires"] = min(r["expires"], now)
        return {"expired": [r["access_key"] for r in hit]}


def admin(path, method, body):
    """GET /_sim/callers, /_sim/issued; GET|POST /_sim/identity."""
    import json
    if path == "/_sim/callers":
        with LOCK:
            return list(CALLERS)
    if path == "/_sim/issued":
        with LOCK:
            return [{k: v for k, v in r.items() if k not in ("secret_key", "token")}
                    for r in ISSUED.values()]
    if path == "/_sim/issued-secrets":
        with LOCK:
            return {"credentials": [dict(r) for r in ISSUED.values()], "tokens": list(TOKENS)}
    if path == "/_sim/expire" and method == "POST":
        return expire(body)
    if path == "/_sim/identity":
        if method == "POST":
            return configure(json.loads(body or b"{}"))
        with LOCK:
            return dict(CONFIG)
    raise ValueError(f"{path} wants POST")
