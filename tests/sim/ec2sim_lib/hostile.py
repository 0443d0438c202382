"""Hostile answers for POST /_sim/override: a raw body, or a generated one
(huge, deeply nested, entity-expanding, external entities, truncated) so
that a test need not send hundreds of MB over the admin API.

render(o) -> (status, content type, Content-Length or None, iterable of bytes)
  o["body"]   str: sent as is (UTF-8; "\\\\xNN" escapes are not decoded)
  o["body_b64"] base64 bytes: sent as is (invalid UTF-8...)
  o["gen"]    huge | huge-nolength | nested | laughs | xxe | truncated
  o["size"]   bytes for huge (default 300 MB), depth for nested
"""
import base64

NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


def _head(action):
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns="{NS}">'.encode()


def _huge(action, size):
    head = _head(action) + b"<requestId>x</requestId><reservationSet><item><x>"
    tail = f"</x></item></reservationSet></{action}Response>".encode()
    fill = size - len(head) - len(tail)
    block = b"A" * (1 << 20)

    def chunks():
        yield head
        left = fill
        while left > 0:
            n = min(left, len(block))
            yield block[:n]
            left -= n
        yield tail
    return head, tail, fill, chunks


def render(o):
    action = o["action"] if o["action"] != "*" else "DescribeInstances"
    status = int(o.get("status", 200))
    ctype = o.get("ctype", "text/xml;charset=UTF-8")
    gen = o.get("gen")
    if gen in ("huge", "huge-nolength"):
        size = int(o.get("size", 300 << 20))
        head, tail, fill, chunks = _huge(action, size)
        return status, ctype, (None if gen == "huge-nolength" else len(head) + fill + len(tail)), chunks()
    if gen == "nested":
        depth = int(o.get("size", 100000))
        body = _head(action) + b"<reservationSet>" + b"<item>" * depth + b"</item>" * depth + \
            f"</reservationSet></{action}Response>".encode()
    elif gen == "laughs":
        ents = ['<!ENTITY lol "lol">'] + [
            f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)]
        body = (f'<?xml version="1.0"?>\n<!DOCTYPE {action}Response [\n' + "\n".join(ents) + "\n]>\n"
                f'<{action}Response xmlns="{NS}"><requestId>&lol9;</requestId>'
                f"<reservationSet/></{action}Response>").encode()
    elif gen == "xxe":
        url = o.get("url", "file:///etc/passwd")
        body = (f'<?xml version="1.0"?>\n<!DOCTYPE {action}Response [\n'
                f'<!ENTITY xxe SYSTEM "{url}">\n<!ENTITY % pe SYSTEM "{url}">\n%pe;\n]>\n'
                f'<{action}Response xmlns="{NS}"><requestId>&xxe;</requestId>'
                f"<reservationSet/><keyName>&xxe;</keyName></{action}Response>").encode()
    elif gen == "truncated":
        body = _head(action) + b"<requestId>x</requestId><reservationSet><item><instanceId>i-0"
    elif "body_b64" in o:
        body = base64.b64decode(o["body_b64"])
    else:
        body = str(o.get("body", "")).encode()
    return status, ctype, len(body), [body]
