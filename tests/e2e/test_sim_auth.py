"""SigV4 verification: the simulator accepts botocore's signatures and rejects bad ones."""
import datetime
import http.client

from simclient import SECRET_KEY, client, signed, utcnow

DESCRIBE = {"Action": "DescribeRegions"}


def test_valid_signature(sim):
    a = signed(sim, DESCRIBE)
    assert a.status == 200 and "<regionName>us-west-1</regionName>" in a.body
    assert a.body.startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_wrong_secret(sim):
    a = signed(sim, DESCRIBE, secret=SECRET_KEY[:-1] + "X")
    assert (a.status, a.code) == (403, "SignatureDoesNotMatch")
    assert "<RequestID>" in a.body


def test_unknown_access_key(sim):
    a = signed(sim, DESCRIBE, access="AKIDUNKNOWN")
    assert (a.status, a.code) == (401, "AuthFailure")


def test_skewed_date(sim):
    a = signed(sim, DESCRIBE, when=utcnow() - datetime.timedelta(minutes=10))
    assert (a.status, a.code) == (403, "RequestTimeTooSkewed")
    assert signed(sim, DESCRIBE, when=utcnow() - datetime.timedelta(minutes=4)).status == 200


def test_session_token(sim):
    assert signed(sim, DESCRIBE, token="any-session-token/+=").status == 200
    assert signed(sim, DESCRIBE, access="ASIATEMPEXAMPLE", secret="tempSecretKeyEXAMPLE0123456789abcdefABCD",
                  token="TOKEN-EXAMPLE/+=session").status == 200
    bad = signed(sim, DESCRIBE, access="ASIATEMPEXAMPLE", secret="tempSecretKeyEXAMPLE0123456789abcdefABCD",
                 token="wrong")
    assert (bad.status, bad.code) == (401, "AuthFailure")
    ec2 = client(sim, access_key="ASIATEMPEXAMPLE", secret_key="tempSecretKeyEXAMPLE0123456789abcdefABCD",
                 token="TOKEN-EXAMPLE/+=session")
    assert ec2.describe_regions()["Regions"]


def test_presigned_get(sim):
    a = signed(sim, {"Action": "DescribeImages", "Filter.1.Name": "name", "Filter.1.Value.1": "vict0rsch-1.0"},
               presign=True)
    assert a.status == 200 and "<name>vict0rsch-1.0</name>" in a.body
    a = signed(sim, DESCRIBE, presign=True, token="tok en+/=")
    assert a.status == 200
    a = signed(sim, DESCRIBE, presign=True, secret="nope")
    assert (a.status, a.code) == (403, "SignatureDoesNotMatch")


def test_region_from_scope(sim):
    a = signed(sim, {"Action": "DescribeAvailabilityZones"}, region="us-east-1")
    assert "us-east-1f" in a.body and "us-west-1a" not in a.body


def _raw(sim, headers, body=b"Action=DescribeRegions&Version=2016-11-15"):
    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    c.request("POST", "/", body=body, headers=dict({"Content-Type": "application/x-www-form-urlencoded"}, **headers))
    r = c.getresponse()
    data = r.read().decode()
    c.close()
    return r.status, data


def test_missing_and_garbled_auth(sim):
    st, body = _raw(sim, {})
    assert st == 401 and "<Code>MissingAuthenticationToken</Code>" in body
    st, body = _raw(sim, {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-west-1/ec2/aws4_request"})
    assert st == 400 and "<Code>IncompleteSignature</Code>" in body


def test_keep_alive(sim):
    """Several requests over one HTTP/1.1 connection (botocore's pool reuses it)."""
    ec2 = client(sim)
    for _ in range(5):
        assert ec2.describe_regions()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "date" in ec2.describe_regions()["ResponseMetadata"]["HTTPHeaders"]
