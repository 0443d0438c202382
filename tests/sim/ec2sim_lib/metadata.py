"""Credentials that need no signature, on the simulator's port at their real
paths:

  GET /federation/credentials?role_name=R&account_id=A   the IAM Identity
      Center portal's GetRoleCredentials (REST JSON), with the header
      x-amz-sso_bearer_token.  Tokens starting "ssotoken-" are valid, those
      starting "ssotoken-revoked" are not (401 UnauthorizedException).
  GET /v2/credentials/ANY, GET /v1/credentials   the ECS / EKS container
      credentials endpoint; Authorization must be the configured
      container_token (identity.py).
  PUT /latest/api/token   IMDSv2's session token (header
      X-aws-ec2-metadata-token-ttl-seconds, 1..21600); every GET under
      /latest/ needs it in X-aws-ec2-metadata-token (IMDSv1 is off):
      /latest/meta-data/iam/security-credentials/[ROLE],
      /latest/meta-data/placement/region, .../availability-zone.

Each credentials answer issues new keys (identity.issue()).
"""
import json
import re
import secrets
import threading
import time
from urllib.parse import parse_qsl

from . import identity
from .model import ACCOUNT

_LOCK = threading.Lock()
_IMDS_TOKENS = {}  # token -> expiry


def _json(status, obj, extra=None, sep=(",", ":")):
    return status, json.dumps(obj, separators=sep).encode(), "application/json", extra or {}


def _sso_error(status, kind, message):
    return _json(status, {"message": message}, {"x-amzn-ErrorType": kind})


def _sso(query, headers):
    token = headers.get("x-amz-sso_bearer_token") or ""
    q = dict(parse_qsl(query, keep_blank_values=True))
    if not token.startswith("ssotoken-") or token.startswith("ssotoken-revoked"):
        return _sso_error(401, "UnauthorizedException", "Session token not found or invalid")
    account, role = q.get("account_id", ""), q.get("role_name", "")
    if not re.fullmatch(r"\d{12}", account) or not role:
        return _sso_error(400, "InvalidRequestException", "account_id and role_name are required")
    arn = f"arn:aws:sts::{account}:assumed-role/AWSReservedSSO_{role}_0123456789abcdef/sso-user"
    rec = identity.issue(arn, "GetRoleCredentials", identity.lifetime(3600),
                         extra={"role_name": role, "account_id": account})
    return _json(200, {"roleCredentials": {
        "accessKeyId": rec["access_key"], "secretAccessKey": rec["secret_key"],
        "sessionToken": rec["token"], "expiration": int(rec["expires"] * 1000)}})


def _metadata_creds(via, role):
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/" + (
        "i-0123456789abcdef0" if via == "imds" else "ecs-task")
    rec = identity.issue(arn, via, identity.lifetime(3600), extra={"role_name": role})
    body = {"Code": "Success", "LastUpdated": identity.iso(rec["issued"]), "Type": "AWS-HMAC",
            "AccessKeyId": rec["access_key"], "SecretAccessKey": rec["secret_key"],
            "Token": rec["token"], "Expiration": identity.iso(rec["expires"])}
    if via == "container":
        del body["Code"], body["LastUpdated"], body["Type"]
        body["RoleArn"] = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        return _json(200, body)
    # IMDS writes '"Key" : "value"' over several lines
    return _json(200, body, sep=(",\n  ", " : "))


def _container(headers):
    want = identity.setting("container_token")
    if want is not None and headers.get("Authorization") != want:
        return _json(401, {"code": "InvalidToken", "message": "invalid authorization token"})
    return _metadata_creds("container", "gpuctl-task-role")


def _text(status, s):
    return status, s.encode(), "text/plain", {}


def _imds(method, path, headers):
    now = time.time()
    if path == "/latest/api/token":
        if method != "PUT":
            return _text(405, "Method Not Allowed")
        ttl = headers.get("X-aws-ec2-metadata-token-ttl-seconds") or ""
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return _text(400, "Bad Request")
        token = "AQAEA" + secrets.token_urlsafe(40)
        with _LOCK:
            _IMDS_TOKENS[token] = now + int(ttl)
        identity.note_secret(token)
        return _text(200, token)
    token = headers.get("X-aws-ec2-metadata-token") or ""
    with _LOCK:
        ok = _IMDS_TOKENS.get(token, 0) > now
    if method != "GET":
        return _text(405, "Method Not Allowed")
    if not ok:
        return _text(401, "Unauthorized")
    role = identity.setting("imds_role")
    region = identity.setting("imds_region")
    base = "/latest/meta-data/iam/security-credentials/"
    if path == base:
        return _text(200, role)
    if path == base + role:
        return _metadata_creds("imds", role)
    if path == "/latest/meta-data/placement/region":
        return _text(200, region)
    if path == "/latest/meta-data/placement/availability-zone":
        return _text(200, region + "a")
    return _text(404, "Not Found")


def kind(path):
    """The name /_sim/stats counts a request to path under, or None when it
    is not for one of these endpoints."""
    if path == "/federation/credentials":
        return "GetRoleCredentials"
    if path.startswith("/v2/credentials/") or path == "/v1/credentials":
        return "ContainerCredentials"
    if path == "/latest/api/token":
        return "IMDSToken"
    if path.startswith("/latest/"):
        return "IMDS"
    return None


def serve(method, path, query, headers):
    """(status, body, content type, extra headers) for a path kind() knows."""
    k = kind(path)
    if k == "GetRoleCredentials":
        return _sso(query, headers) if method == "GET" else _text(405, "Method Not Allowed")
    if k == "ContainerCredentials":
        return _container(headers) if method == "GET" else _text(405, "Method Not Allowed")
    return _imds(method, path, headers)
