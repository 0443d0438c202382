"""Helpers for talking to the simulator directly: botocore clients and hand-signed requests."""
import datetime
import http.client
import re
from unittest import mock
from urllib.parse import urlencode, urlsplit

import botocore.session
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def client(sim, region="us-west-1", retries=1, **kw):
    s = botocore.session.get_session()
    return s.create_client("ec2", region_name=region, endpoint_url=sim.url,
                           aws_access_key_id=kw.pop("access_key", ACCESS_KEY),
                           aws_secret_access_key=kw.pop("secret_key", SECRET_KEY),
                           aws_session_token=kw.pop("token", None),
                           config=Config(retries={"total_max_attempts": retries}, read_timeout=30,
                                         connect_timeout=5, **kw))


class Answer:
    def __init__(self, status, body):
        self.status, self.body = status, body.decode()
        m = re.search(r"<Code>(.*?)</Code>", self.body)
        self.code = m.group(1) if m else None

    def __repr__(self):
        return f"Answer({self.status}, {self.body[:300]!r})"


def signed(sim, params, region="us-west-1", access=ACCESS_KEY, secret=SECRET_KEY, token=None,
           when=None, presign=False, timeout=30):
    """Send one EC2 request signed by botocore (optionally at another time / presigned GET)."""
    params = dict({"Version": "2016-11-15"}, **params)
    creds = Credentials(access, secret, token)
    if presign:
        req = AWSRequest(method="GET", url=sim.url + "/?" + urlencode(params))
        signer = SigV4QueryAuth(creds, "ec2", region, expires=300)
    else:
        req = AWSRequest(method="POST", url=sim.url + "/", data=urlencode(params).encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        signer = SigV4Auth(creds, "ec2", region)
    if when is not None:
        with mock.patch("botocore.auth.datetime") as dt:
            dt.datetime.utcnow.return_value = when
            dt.datetime.strptime = datetime.datetime.strptime
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    u = urlsplit(req.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + ("?" + u.query if u.query else "")
        conn.request(req.method, path, body=req.body, headers=dict(req.headers.items()))
        r = conn.getresponse()
        return Answer(r.status, r.read())
    finally:
        conn.close()


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
