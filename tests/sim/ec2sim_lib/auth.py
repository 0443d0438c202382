"""SigV4 verification of incoming requests with botocore's own signer."""
import datetime
import hashlib
import hmac
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .errors import ApiError

# access key -> (secret, required session token or None)
KEYS = {
    "AKIDEXAMPLE": ("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
    "ASIATEMPEXAMPLE": ("tempSecretKeyEXAMPLE0123456789abcdefABCD", "TOKEN-EXAMPLE/+=session"),
}
# temporary keys issued by identity.py: access key -> (secret, session token)
TEMP_KEYS = {}
REGIONS = ("us-west-1", "us-east-1")
# signing names accepted; which action needs which is checked by the server
SERVICES = ("ec2", "sts")
MAX_SKEW = 300
TS_FMT = "%Y%m%dT%H%M%SZ"


class _Signer(SigV4Auth):
    """botocore's SigV4 signer, restricted to exactly the headers the client signed."""

    def __init__(self, creds, service, region, signed):
        super().__init__(creds, service, region)
        self._signed = signed

    def headers_to_sign(self, request):
        hm = HTTPHeaders()
        for name in self._signed:
            for v in request.headers.get_all(name) or []:
                hm[name] = v
        return hm


def _pairs(qs):
    out = []
    for part in qs.split("&"):
        if part:
            k, _, v = part.partition("=")
            out.append((unquote(k), unquote(v)))
    return out


def verify(method, path, raw_query, headers, body, now=None):
    """Raise ApiError unless the request carries a valid SigV4 signature.
    headers: an email.message.Message (http.server's).  Returns (access_key,
    region, service)."""
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    qpairs = _pairs(raw_query)
    q = {k: v for k, v in qpairs}
    auth = headers.get("Authorization")
    presigned = "X-Amz-Signature" in q or "X-Amz-Credential" in q
    if auth:
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            raise ApiError("IncompleteSignature",
                           f"Unsupported Authorization Type or missing signing algorithm: '{auth.split(' ')[0]}'")
        parts = {}
        for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = item.strip().partition("=")
            parts[k] = v
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not parts.get(k)]
        if missing:
            raise ApiError("IncompleteSignature",
                           f"Authorization header requires '{missing[0]}' parameter. Authorization={auth}")
        credential, signed, signature = parts["Credential"], parts["SignedHeaders"], parts["Signature"]
        amz_date = headers.get("X-Amz-Date")
        token = headers.get("X-Amz-Security-Token")
    elif presigned:
        for k in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date"):
            if not q.get(k):
                raise ApiError("IncompleteSignature", f"AWS query-string parameters must include '{k}'.")
        if q["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise ApiError("IncompleteSignature", "Unsupported signing algorithm: " + q["X-Amz-Algorithm"])
        credential, signed, signature = q["X-Amz-Credential"], q["X-Amz-SignedHeaders"], q["X-Amz-Signature"]
        amz_date, token = q["X-Amz-Date"], q.get("X-Amz-Security-Token")
    else:
        if q.get("AWSAccessKeyId") or q.get("SignatureVersion"):
            raise ApiError("AuthFailure", "Only AWS Signature Version 4 is supported by this endpoint.", 401)
        raise ApiError("MissingAuthenticationToken", "Request is missing Authentication Token", 401)

    cparts = credential.split("/")
    if len(cparts) != 5 or cparts[4] != "aws4_request":
        raise ApiError("IncompleteSignature", f"Credential should be scoped to a valid region, not '{credential}'. ")
    access, cdate, region, service, _ = cparts
    key = KEYS.get(access) or TEMP_KEYS.get(access)
    if key is None:
        raise ApiError("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
    secret, need_token = key
    if region not in REGIONS:
        raise ApiError("AuthFailure", f"Credential should be scoped to a valid region, not '{region}'.", 401)
    if service not in SERVICES:
        raise ApiError("SignatureDoesNotMatch",
                       "Credential should be scoped to correct service: 'ec2'. ", 403)
    if not amz_date:
        date_hdr = headers.get("Date")
        if not date_hdr:
            raise ApiError("IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        try:
            from email.utils import parsedate_to_datetime
            amz_date = parsedate_to_datetime(date_hdr).strftime(TS_FMT)
        except (TypeError, ValueError):
            raise ApiError("IncompleteSignature", "Date must be in ISO-8601 'basic format'.")
    try:
        ts = datetime.datetime.strptime(amz_date, TS_FMT)
    except ValueError:
        raise ApiError("IncompleteSignature", f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.")
    if abs((now - ts).total_seconds()) > MAX_SKEW:
        raise ApiError("RequestTimeTooSkewed",
                       f"Request timestamp: {amz_date} is more than {MAX_SKEW} seconds away from the "
                       f"server time: {now.strftime(TS_FMT)}.", 403)
    if presigned:
        try:
            expires = int(q.get("X-Amz-Expires", "0"))
        except ValueError:
            raise ApiError("AuthFailure", "X-Amz-Expires must be an integer", 401)
        if (now - ts).total_seconds() > expires:
            raise ApiError("AuthFailure", "Signature expired: the presigned request has expired.", 401)
    if cdate != amz_date[:8]:
        raise ApiError("SignatureDoesNotMatch",
                       f"Credential date {cdate} does not match the request date {amz_date[:8]}.", 403)
    if need_token and token != need_token:
        raise ApiError("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
    signed_list = [h.strip().lower() for h in signed.split(";") if h.strip()]
    if "host" not in signed_list:
        raise ApiError("SignatureDoesNotMatch", "'Host' must be a 'SignedHeader' in the AWS Authorization.", 403)
    if token and not presigned and "x-amz-security-token" not in signed_list:
        # a token sent alongside but not signed is tolerated (as AWS does for the 'after' case)
        pass
    hdrs = HTTPHeaders()
    for name in signed_list:
        vals = headers.get_all(name)
        if vals is None:
            raise ApiError("SignatureDoesNotMatch", f"The header '{name}' is listed as signed but is missing.", 403)
        for v in vals:
            hdrs[name] = v
    sha = headers.get("X-Amz-Content-SHA256")
    if sha is not None and sha not in ("UNSIGNED-PAYLOAD",) and sha.lower() != hashlib.sha256(body).hexdigest():
        raise ApiError("XAmzContentSHA256Mismatch",
                       "The provided 'x-amz-content-sha256' header does not match what was computed.", 400)
    if presigned:
        query = "&".join(p for p in raw_query.split("&") if p and not p.startswith("X-Amz-Signature="))
    else:
        query = raw_query
    req = AWSRequest(method=method, url="http://sim" + unquote(path), data=body)
    req.headers = hdrs
    req.params = [kv for kv in _pairs(query)] if query else {}
    req.context["timestamp"] = amz_date
    signer = _Signer(Credentials(access, secret, token), service, region, signed_list)
    creq = signer.canonical_request(req)
    sts = signer.string_to_sign(req, creq)
    expected = signer.signature(sts, req)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise ApiError("SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you provided. "
                       "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
                       403)
    return access, region, service
