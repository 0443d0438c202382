"""gpuctl stop, start and terminate (with --snapshot) against the simulator."""
import json
import os
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gpuctl_helpers import GPUCTL, gpuctl

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
REGION = "us-west-1"


def ok(p):
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def api(sim, *args):
    return ET.fromstring(ok(gpuctl(sim, "api", *args)).stdout)


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def kit(sim):
    """A key pair and a gpuctl-made security group, as launch leaves them."""
    key, group = uniq("gpuctl-key"), uniq("gpuctl-sg")
    api(sim, "CreateKeyPair", f"KeyName={key}", "KeyType=ed25519")
    root = api(sim, "CreateSecurityGroup", f"GroupName={group}", "GroupDescription=gpuctl",
               "TagSpecification.1.ResourceType=security-group",
               "TagSpecification.1.Tag.1.Key=gpuctl:managed",
               "TagSpecification.1.Tag.1.Value=true")
    return {"key": key, "group": root.find(NS + "groupId").text}


def run_instance(sim, kit, name, spot=False, itype="t3.micro"):
    args = ["RunInstances", f"ImageId={sim.state()[REGION]['images']['vict0rsch-1.0']}",
            f"InstanceType={itype}", "MinCount=1", "MaxCount=1",
            f"ClientToken={uuid.uuid4().hex}", f"KeyName={kit['key']}",
            f"SecurityGroupId.1={kit['group']}",
            "TagSpecification.1.ResourceType=instance",
            "TagSpecification.1.Tag.1.Key=Name", f"TagSpecification.1.Tag.1.Value={name}",
            "TagSpecification.1.Tag.2.Key=gpuctl:managed",
            "TagSpecification.1.Tag.2.Value=test"]
    if spot:
        args.append("InstanceMarketOptions.MarketType=spot")
    root = api(sim, *args)
    return root.find(f"{NS}instancesSet/{NS}item/{NS}instanceId").text


def inst(sim, iid):
    return sim.state()[REGION]["instances"][iid]


def wait_state(sim, iid, state, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if inst(sim, iid)["state"] == state:
            return
        time.sleep(0.05)
    raise AssertionError(f"{iid} never became {state}")


def running(sim, kit, prefix="box", **kw):
    name = uniq(prefix)
    iid = run_instance(sim, kit, name, **kw)
    wait_state(sim, iid, "running")
    return iid, name


def test_stop_start_terminate_wait(sim, kit, aws):
    iid, name = running(sim, kit)
    p = ok(gpuctl(sim, "stop", name, "--wait"))
    assert p.stdout == iid + "\n" and p.stderr == ""  # no progress when not a tty
    assert inst(sim, iid)["state"] == "stopped"
    # stopping a stopped instance is fine
    p = ok(gpuctl(sim, "stop", iid, "--output", "json"))
    assert json.loads(p.stdout) == {"instances": [
        {"instanceId": iid, "previousState": "stopped", "currentState": "stopped"}]}
    p = ok(gpuctl(sim, "start", iid, "--wait", "--output", "json"))
    doc = json.loads(p.stdout)
    assert doc == {"instances": [
        {"instanceId": iid, "previousState": "stopped", "currentState": "running"}]}
    d = aws("describe-instances", "--instance-ids", iid)
    i = d["Reservations"][0]["Instances"][0]
    assert i["State"]["Name"] == "running" and i["PublicIpAddress"]
    p = ok(gpuctl(sim, "terminate", iid, "--yes", "--wait", "--output", "table"))
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["ID", "PREVIOUS", "CURRENT"]
    assert lines[1].split() == [iid, "running", "terminated"]
    assert inst(sim, iid)["state"] == "terminated"
    # the key pair and the security group stay for the next launch
    assert kit["key"] in sim.state()[REGION]["keys"]
    assert kit["group"] in sim.state()[REGION]["groups"]
    aws("describe-key-pairs", "--key-names", kit["key"])
    aws("describe-security-groups", "--group-ids", kit["group"])


def test_several_and_last_instance(sim, kit):
    a, _ = running(sim, kit)
    b, bname = running(sim, kit)
    p = ok(gpuctl(sim, "stop", a, bname, a))
    assert p.stdout.split() == [a, b]
    wait_state(sim, a, "stopped")
    wait_state(sim, b, "stopped")
    # none named: the last launched one
    p = gpuctl(sim, "start")
    assert p.returncode == 1 and "none launched" in p.stderr
    state = Path(sim.env["XDG_STATE_HOME"]) / "gpuctl" / REGION
    state.mkdir(parents=True, exist_ok=True)
    (state / "last-instance").write_text(b + "\n")
    try:
        p = ok(gpuctl(sim, "start", "-q", "--wait", "--timeout", "30"))
        assert p.stdout == b + "\n"
        assert inst(sim, b)["state"] == "running"
        assert inst(sim, a)["state"] == "stopped"
    finally:
        (state / "last-instance").unlink()
    ok(gpuctl(sim, "terminate", "--yes", a, b))


def test_terminate_refuses_without_yes_off_terminal(sim, kit):
    iid, name = running(sim, kit)
    before = sim.stats()["requests"].get("TerminateInstances", 0)
    p = gpuctl(sim, "terminate", name, input=b"y\n")
    assert p.returncode == 2 and p.stdout == ""
    assert "--yes" in p.stderr and "not a terminal" in p.stderr
    assert inst(sim, iid)["state"] == "running"
    assert sim.stats()["requests"].get("TerminateInstances", 0) == before
    ok(gpuctl(sim, "terminate", "--yes", iid))


def _on_tty(sim, args, answer):
    """Runs gpuctl with stdin on a pseudo-terminal (no controlling tty)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([GPUCTL, *args], env=dict(sim.env), stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        os.write(master, answer)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    return proc.returncode, out.decode(), err.decode()


def test_terminate_asks_on_a_terminal(sim, kit):
    iid, name = running(sim, kit)
    rc, out, err = _on_tty(sim, ["terminate", iid], b"n\n")
    assert rc == 1 and out == ""
    assert f"Terminate {iid} ({name})? This deletes its root volume. [y/N]" in err
    assert inst(sim, iid)["state"] == "running"
    rc, out, err = _on_tty(sim, ["terminate", iid], b"y\n")
    assert rc == 0 and out == iid + "\n"
    assert inst(sim, iid)["state"] in ("shutting-down", "terminated")


def test_terminate_snapshot_then_terminate(sim, kit, aws):
    sim.admin("/_sim/config", {"snapshot_delay": 1.0})
    iid, name = running(sim, kit, prefix="snapbox")
    vol = inst(sim, iid)["volumes"][0]
    proc = subprocess.Popen([GPUCTL, "terminate", name, "--snapshot", "--yes", "--wait",
                             "--output", "json"], env=dict(sim.env),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # watch: the instance must not go down before its snapshot is completed
    seen_pending = False
    while proc.poll() is None:
        st = sim.state()[REGION]
        snaps = [s for s in st["snapshots"].values() if s["volume"] == vol]
        if any(s["state"] == "pending" for s in snaps):
            seen_pending = True
        if st["instances"][iid]["state"] in ("shutting-down", "terminated"):
            assert snaps and all(s["state"] == "completed" for s in snaps)
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert seen_pending
    doc = json.loads(out)
    assert doc["instances"] == [{"instanceId": iid, "previousState": "running",
                                 "currentState": "terminated"}]
    assert len(doc["snapshots"]) == 1
    s = doc["snapshots"][0]
    assert s["volumeId"] == vol and s["instanceId"] == iid and s["device"] == "/dev/sda1"
    d = aws("describe-snapshots", "--snapshot-ids", s["snapshotId"])["Snapshots"][0]
    assert d["State"] == "completed" and d["VolumeId"] == vol
    assert d["Description"] == (f"gpuctl snapshot of {vol} (/dev/sda1) of {iid} ({name}) "
                                "before terminate")
    tags = {t["Key"]: t["Value"] for t in d["Tags"]}
    assert tags == {"Name": f"{name}-sda1", "gpuctl:managed": "true",
                    "gpuctl:instance": iid, "gpuctl:device": "/dev/sda1"}
    assert inst(sim, iid)["state"] == "terminated"
    assert kit["key"] in sim.state()[REGION]["keys"]
    assert kit["group"] in sim.state()[REGION]["groups"]


def test_terminate_snapshot_text_output(sim, kit):
    sim.admin("/_sim/config", {"snapshot_delay": 0.3})
    iid, _ = running(sim, kit)
    p = ok(gpuctl(sim, "terminate", iid, "--snapshot", "--yes"))
    lines = p.stdout.splitlines()
    assert lines[0] == iid
    snap, vol, owner, dev = lines[1].split("\t")
    assert snap.startswith("snap-") and vol.startswith("vol-") and owner == iid
    assert dev == "/dev/sda1" and len(lines) == 2
    assert sim.state()[REGION]["snapshots"][snap]["state"] == "completed"


def test_terminate_snapshot_timeout_leaves_instance(sim, kit):
    sim.admin("/_sim/config", {"snapshot_delay": 30})
    try:
        iid, _ = running(sim, kit)
        p = gpuctl(sim, "terminate", iid, "--snapshot", "--yes", "--timeout", "1")
        assert p.returncode == 5, p.stderr
        assert p.stdout == ""
        assert f"{iid} was not terminated (left running)" in p.stderr
        snaps = [k for k, s in sim.state()[REGION]["snapshots"].items()
                 if s["volume"] == inst(sim, iid)["volumes"][0]]
        assert len(snaps) == 1 and snaps[0] in p.stderr
        assert inst(sim, iid)["state"] == "running"
    finally:
        sim.admin("/_sim/config", {"snapshot_delay": 0.3})
    ok(gpuctl(sim, "terminate", "--yes", iid))


def test_stop_spot_instance_is_refused(sim, kit):
    iid, _ = running(sim, kit, spot=True)
    p = gpuctl(sim, "stop", iid)
    assert p.returncode == 4 and p.stdout == ""
    assert "stop failed: UnsupportedOperation" in p.stderr
    assert "Spot instance" in p.stderr and "gpuctl terminate" in p.stderr
    assert inst(sim, iid)["state"] == "running"
    ok(gpuctl(sim, "terminate", "--yes", iid))


def test_errors_and_usage(sim, kit):
    p = gpuctl(sim, "start", "i-0123456789abcdef0")
    assert p.returncode == 4 and "InvalidInstanceID.NotFound" in p.stderr
    p = gpuctl(sim, "stop", "no-such-box")
    assert p.returncode == 1 and "no-such-box" in p.stderr
    iid, _ = running(sim, kit)
    ok(gpuctl(sim, "terminate", "--yes", "--wait", iid))
    p = gpuctl(sim, "start", iid)
    assert p.returncode == 4 and "start failed: IncorrectInstanceState" in p.stderr
    for args in (["stop", "--yes", iid], ["start", "--snapshot", iid], ["stop", "--bogus"],
                 ["stop", "--timeout", "soon"], ["stop", "--timeout"],
                 ["terminate", "--timeout=0", "--yes"]):
        p = gpuctl(sim, *args)
        assert p.returncode == 2, (args, p.stderr)
    for cmd in ("stop", "start", "terminate"):
        p = ok(gpuctl(sim, cmd, "--help"))
        assert p.stdout.startswith(f"usage: gpuctl {cmd}")
