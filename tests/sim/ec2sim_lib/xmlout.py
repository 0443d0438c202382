"""Tiny EC2-style XML writer: dicts become elements, lists become <item> sets."""
import re
import uuid
from xml.sax.saxutils import escape

NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text(v):
    if isinstance(v, bool):
        v = "true" if v else "false"
    return escape(_BAD.sub("\ufffd", str(v)))


def el(tag, v, out):
    if v is None:
        return
    if isinstance(v, dict):
        out.append(f"<{tag}>")
        for k, x in v.items():
            el(k, x, out)
        out.append(f"</{tag}>")
    elif isinstance(v, list):
        out.append(f"<{tag}>")
        for x in v:
            el("item", x, out)
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>{text(v)}</{tag}>")


def response(action, body, request_id=None):
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<{action}Response xmlns="{NS}"><requestId>{request_id or uuid.uuid4()}</requestId>']
    for k, v in body.items():
        el(k, v, out)
    out.append(f"</{action}Response>")
    return "".join(out).encode()


def error(code, message, request_id=None):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{text(code)}</Code><Message>{text(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id or uuid.uuid4()}</RequestID></Response>").encode()
