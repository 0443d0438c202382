"""STS over the Query protocol (2011-06-15), on the simulator's port at "/":
AssumeRole and GetCallerIdentity (signed for service sts), and
AssumeRoleWithWebIdentity (unsigned).  The credentials they issue are then
accepted by EC2 and STS until they expire (identity.py).

Roles: any arn:aws:iam::ACCOUNT:role/NAME is assumable, with these rules
for tests, by the role's name:
  deny-*  AccessDenied;
  ext-*   needs ExternalId EXTERNAL-ID-EXAMPLE;
  mfa-*   needs SerialNumber (an MFA device ARN) and TokenCode 314159.
A web identity token must have a JWT's shape (three base64url parts).
"""
import re
import secrets
import string
from xml.sax.saxutils import escape

from . import identity
from .errors import ApiError
from .model import ACCOUNT

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
SIGNED = ("AssumeRole", "GetCallerIdentity")
UNSIGNED = ("AssumeRoleWithWebIdentity",)
ACTIONS = SIGNED + UNSIGNED
EXTERNAL_ID = "EXTERNAL-ID-EXAMPLE"
MFA_CODE = "314159"
ROLE_RE = re.compile(r"^arn:aws:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$")
SESSION_RE = re.compile(r"^[\w+=,.@-]{2,64}$")
MFA_RE = re.compile(r"^arn:aws:iam::\d{12}:mfa/[\w+=,.@-]+$")
JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


def _el(tag, v):
    if isinstance(v, dict):
        return f"<{tag}>" + "".join(_el(k, x) for k, x in v.items()) + f"</{tag}>"
    return f"<{tag}>{escape(str(v))}</{tag}>"


def response(action, result, rid):
    return (f'<{action}Response xmlns="{NS}">' + _el(f"{action}Result", result) +
            f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"
            f"</{action}Response>").encode()


def error(e, rid):
    kind = "Receiver" if e.status >= 500 else "Sender"
    return (f'<ErrorResponse xmlns="{NS}"><Error><Type>{kind}</Type>'
            f"<Code>{escape(e.code)}</Code><Message>{escape(e.message)}</Message></Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>").encode()


def _need(params, k):
    v = params.get(k)
    if not v:
        raise ApiError("ValidationError", f"1 validation error detected: Value null at '{k}' failed "
                       "to satisfy constraint: Member must not be null")
    return v


def _role(params):
    arn = _need(params, "RoleArn")
    m = ROLE_RE.match(arn)
    if not m:
        raise ApiError("ValidationError", f"{arn} is invalid")
    session = _need(params, "RoleSessionName")
    if not SESSION_RE.match(session):
        raise ApiError("ValidationError", "1 validation error detected: Value at 'roleSessionName' "
                       "failed to satisfy constraint: Member must satisfy regular expression "
                       "pattern: [\\w+=,.@-]*")
    d = params.get("DurationSeconds")
    seconds = 3600
    if d is not None:
        if not d.isdigit() or not 900 <= int(d) <= 43200:
            raise ApiError("ValidationError", "The requested DurationSeconds exceeds the "
                           "MaxSessionDuration set for this role.")
        seconds = int(d)
    return arn, m.group(1), m.group(3), session, seconds


def _credentials(rec):
    return {"AccessKeyId": rec["access_key"], "SecretAccessKey": rec["secret_key"],
            "SessionToken": rec["token"], "Expiration": identity.iso(rec["expires"])}


def _assume(caller, params, via, extra=None):
    arn, account, name, session, seconds = _role(params)
    if name.startswith("deny-"):
        raise ApiError("AccessDenied", f"User: {identity.arn_of(caller) if caller else 'anonymous'} "
                       f"is not authorized to perform: sts:AssumeRole on resource: {arn}", 403)
    if name.startswith("ext-") and params.get("ExternalId") != EXTERNAL_ID:
        raise ApiError("AccessDenied", f"User is not authorized to perform: sts:AssumeRole on "
                       f"resource: {arn} (external ID)", 403)
    if name.startswith("mfa-"):
        if not MFA_RE.match(params.get("SerialNumber") or "") or not params.get("TokenCode"):
            raise ApiError("AccessDenied", "MultiFactorAuthentication failed: the role needs "
                           "SerialNumber and TokenCode", 403)
        if params.get("TokenCode") != MFA_CODE:
            raise ApiError("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one "
                           "time pass code. ", 403)
    user_arn = f"arn:aws:sts::{account}:assumed-role/{name}/{session}"
    rec = identity.issue(user_arn, via, identity.lifetime(seconds), source=caller,
                         extra={"role_arn": arn, "session_name": session,
                                "external_id": params.get("ExternalId"),
                                "mfa": params.get("SerialNumber"), **(extra or {})})
    role_id = "AROA" + "".join(secrets.choice(string.ascii_uppercase + string.digits)
                               for _ in range(17))
    return {"Credentials": _credentials(rec),
            "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session}", "Arn": user_arn}}


def call(caller, action, params):
    """A signed STS action by caller's key; returns the Result dict."""
    if action == "AssumeRole":
        return _assume(caller, params, "AssumeRole")
    if action == "GetCallerIdentity":
        arn = identity.arn_of(caller)
        return {"UserId": caller, "Account": ACCOUNT, "Arn": arn}
    if action in UNSIGNED:
        raise ApiError("InvalidAction", f"{action} is not signed", 400)
    raise ApiError("InvalidAction", f"Could not find operation {action} for version 2011-06-15")


def call_unsigned(action, params):
    """AssumeRoleWithWebIdentity: the token is the only credential."""
    token = _need(params, "WebIdentityToken")
    if not JWT_RE.match(token):
        raise ApiError("InvalidIdentityToken", "The web identity token that was passed could not "
                       "be validated by AWS. Get a new identity token from the identity provider "
                       "and then retry the request.")
    res = _assume(None, params, "AssumeRoleWithWebIdentity", extra={"web_identity": True})
    res.update({"SubjectFromWebIdentityToken": "system:serviceaccount:default:gpuctl",
                "Audience": "sts.amazonaws.com", "Provider": "oidc.sim.example"})
    return res
