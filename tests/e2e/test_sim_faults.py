"""Fault injection: each kind, by count and by probability, set by flag or by the admin endpoint."""
import http.client
import time
import uuid

import pytest

from simclient import client, signed

REGIONS = {"Action": "DescribeRegions"}


@pytest.fixture
def fsim(sim):
    sim.set_faults("")
    yield sim
    sim.set_faults("")


def ami(sim, name="al2023-ami-2023.6.20241010.0-kernel-6.1-x86_64"):
    return sim.state()["us-west-1"]["images"][name]


def run_params(sim, token=None, **extra):
    p = {"Action": "RunInstances", "ImageId": ami(sim), "InstanceType": "t3.micro", "MinCount": "1", "MaxCount": "1"}
    if token:
        p["ClientToken"] = token
    p.update(extra)
    return p


@pytest.mark.parametrize("kind,status,code", [("throttle", 503, "RequestLimitExceeded"),
                                              ("500", 500, "InternalError"), ("503", 503, "Unavailable")])
def test_error_faults(fsim, kind, status, code):
    fsim.set_faults(f"{kind}=1")
    a = signed(fsim, REGIONS)
    assert (a.status, a.code) == (status, code)
    assert signed(fsim, REGIONS).status == 200  # the count is spent
    assert fsim.stats()["faults"][kind] >= 1


def test_faults_flag_and_scope(sim_factory):
    s = sim_factory(faults="throttle@DescribeRegions=2", boot_delay=0.2, ssh_delay=0.1)
    assert signed(s, {"Action": "DescribeAvailabilityZones"}).status == 200
    assert [signed(s, REGIONS).code for _ in range(3)] == ["RequestLimitExceeded"] * 2 + [None]
    ec2 = client(s, retries=3)  # botocore retries throttling by itself
    s.set_faults("throttle=1")
    assert ec2.describe_regions()["Regions"]


def test_probability_is_seeded(sim_factory):
    def pattern():
        s = sim_factory(faults="500@DescribeRegions=0.5", seed=42)
        try:
            return [signed(s, REGIONS).status for _ in range(16)]
        finally:
            s.stop()
    a = pattern()
    assert a == pattern() and 500 in a and 200 in a


def test_drop_before_action(fsim):
    fsim.set_faults("drop@CreateKeyPair=1")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        signed(fsim, {"Action": "CreateKeyPair", "KeyName": "dropped"})
    assert "dropped" not in fsim.state()["us-west-1"]["keys"]
    assert signed(fsim, {"Action": "CreateKeyPair", "KeyName": "dropped"}).status == 200


def test_commit_drop_keypair(fsim):
    fsim.set_faults("commit-drop@CreateKeyPair=1")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        signed(fsim, {"Action": "CreateKeyPair", "KeyName": "committed"})
    assert "committed" in fsim.state()["us-west-1"]["keys"]
    assert signed(fsim, {"Action": "CreateKeyPair", "KeyName": "committed"}).code == "InvalidKeyPair.Duplicate"


def test_run_drop_then_retry_same_token(fsim):
    token = str(uuid.uuid4())
    fsim.set_faults("run-drop=1")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        signed(fsim, run_params(fsim, token))
    made = [i for i, v in fsim.state()["us-west-1"]["instances"].items() if v["token"] == token]
    assert len(made) == 1
    a = signed(fsim, run_params(fsim, token))
    assert a.status == 200 and f"<instanceId>{made[0]}</instanceId>" in a.body
    assert len([i for i, v in fsim.state()["us-west-1"]["instances"].items() if v["token"] == token]) == 1


def test_slow(fsim):
    fsim.set_faults("slow=1:1.2")
    t = time.time()
    assert signed(fsim, REGIONS).status == 200
    assert time.time() - t >= 1.2
    t = time.time()
    signed(fsim, REGIONS)
    assert time.time() - t < 1


def test_consistency(fsim):
    fsim.set_faults("consistency=1.5s")
    ec2 = client(fsim)
    iid = ec2.run_instances(ImageId=ami(fsim), InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    a = signed(fsim, {"Action": "DescribeInstances", "InstanceId.1": iid})
    assert (a.status, a.code) == (400, "InvalidInstanceID.NotFound")
    assert iid not in signed(fsim, {"Action": "DescribeInstances"}).body
    time.sleep(1.6)
    assert signed(fsim, {"Action": "DescribeInstances", "InstanceId.1": iid}).status == 200


def test_capacity(fsim):
    fsim.set_faults("capacity=1")
    a = signed(fsim, run_params(fsim, InstanceType="g5.xlarge"))
    assert (a.status, a.code) == (400, "InsufficientInstanceCapacity")
    assert signed(fsim, run_params(fsim)).status == 200


def test_bad_spec_rejected(fsim):
    import urllib.error
    with pytest.raises(urllib.error.HTTPError):
        fsim.set_faults("nonsense=1")
