"""gpuctl rules and gpuctl doctor against the simulator."""
import json
import os
import re
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gpuctl_helpers import gpuctl

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
REGION = "us-west-1"
MY_IP = "198.51.100.7"


def ok(p):
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def api(sim, *args):
    return ET.fromstring(ok(gpuctl(sim, "api", *args)).stdout)


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_group(sim, name, ssh_cidr=None, managed=True):
    args = ["CreateSecurityGroup", f"GroupName={name}", "GroupDescription=test"]
    if managed:
        args += ["TagSpecification.1.ResourceType=security-group",
                 "TagSpecification.1.Tag.1.Key=gpuctl:managed",
                 "TagSpecification.1.Tag.1.Value=true"]
    gid = api(sim, *args).find(NS + "groupId").text
    if ssh_cidr:
        api(sim, "AuthorizeSecurityGroupIngress", f"GroupId={gid}",
            "IpPermissions.1.IpProtocol=tcp", "IpPermissions.1.FromPort=22",
            "IpPermissions.1.ToPort=22", f"IpPermissions.1.IpRanges.1.CidrIp={ssh_cidr}")
    return gid


def make_key(sim, name, save=True, mode=0o600):
    root = api(sim, "CreateKeyPair", f"KeyName={name}", "KeyType=ed25519")
    path = Path(sim.env["XDG_CONFIG_HOME"]) / "gpuctl" / "keys" / REGION / f"{name}.pem"
    if save:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, root.find(NS + "keyMaterial").text.encode())
        os.close(fd)
        os.chmod(path, mode)
    return path


def run_instance(sim, name, key=None, groups=(), itype="t3.micro"):
    args = ["RunInstances", f"ImageId={sim.state()[REGION]['images']['vict0rsch-1.0']}",
            f"InstanceType={itype}", "MinCount=1", "MaxCount=1",
            f"ClientToken={uuid.uuid4().hex}",
            "TagSpecification.1.ResourceType=instance",
            "TagSpecification.1.Tag.1.Key=Name", f"TagSpecification.1.Tag.1.Value={name}",
            "TagSpecification.1.Tag.2.Key=gpuctl:managed",
            "TagSpecification.1.Tag.2.Value=test"]
    if key:
        args.append(f"KeyName={key}")
    for n, g in enumerate(groups, 1):
        args.append(f"SecurityGroupId.{n}={g}")
    root = api(sim, *args)
    return root.find(f"{NS}instancesSet/{NS}item/{NS}instanceId").text


def wait_state(sim, iid, state, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sim.state()[REGION]["instances"][iid]["state"] == state:
            return
        time.sleep(0.05)
    raise AssertionError(f"{iid} never became {state}")


@pytest.fixture(scope="module")
def box(sim):
    """A healthy running instance: key on disk, group admitting MY_IP on 22."""
    key = uniq("gpuctl-key")
    path = make_key(sim, key)
    gid = make_group(sim, uniq("gpuctl-sg"), ssh_cidr=f"{MY_IP}/32")
    name = uniq("box")
    iid = run_instance(sim, name, key=key, groups=[gid])
    wait_state(sim, iid, "running")
    return {"id": iid, "name": name, "group": gid, "key": key, "keyfile": path}


def rules(sim, *args, **kw):
    p = ok(gpuctl(sim, "rules", *args, **kw))
    return [line.split("\t") for line in p.stdout.splitlines()]


def test_rules_list(sim, box):
    rows = rules(sim, box["name"])
    assert ["in", box["group"], "tcp", "22", f"{MY_IP}/32", ""] in rows
    assert ["out", box["group"], "all", "all", "0.0.0.0/0", ""] in rows  # default egress
    assert all(len(r) == 6 for r in rows)
    assert rows.index(["in", box["group"], "tcp", "22", f"{MY_IP}/32", ""]) < rows.index(
        ["out", box["group"], "all", "all", "0.0.0.0/0", ""])
    doc = json.loads(ok(gpuctl(sim, "rules", box["id"], "--output", "json")).stdout)
    assert {"direction": "out", "groupId": box["group"], "ipProtocol": "all", "ports": "all",
            "cidr": "0.0.0.0/0", "description": None} in doc["rules"]
    p = ok(gpuctl(sim, "rules", box["id"], "--output", "table"))
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["DIRECTION", "GROUP", "PROTO", "PORTS", "CIDR", "DESCRIPTION"]
    col = lines[0].index("CIDR")
    assert all(line[col - 2:col] == "  " and line[col] != " " for line in lines[1:])
    assert "Outbound connections" in ok(gpuctl(sim, "rules", "--help")).stdout


def test_rules_add_remove(sim, box, aws):
    p = ok(gpuctl(sim, "rules", "add", "in", "tcp", "8888", "203.0.113.0/24", box["name"],
                  "--description", "jupyter"))
    assert p.stdout == f"in\t{box['group']}\ttcp\t8888\t203.0.113.0/24\tjupyter\n"
    g = aws("describe-security-groups", "--group-ids", box["group"])["SecurityGroups"][0]
    perm = [x for x in g["IpPermissions"] if x.get("FromPort") == 8888]
    assert perm and perm[0]["IpProtocol"] == "tcp" and perm[0]["ToPort"] == 8888
    assert perm[0]["IpRanges"] == [{"CidrIp": "203.0.113.0/24", "Description": "jupyter"}]
    assert ["in", box["group"], "tcp", "8888", "203.0.113.0/24", "jupyter"] in rules(
        sim, box["id"])
    # twice: EC2's duplicate error, exit 4
    p = gpuctl(sim, "rules", "add", "in", "tcp", "8888", "203.0.113.0/24", box["id"])
    assert p.returncode == 4 and "InvalidPermission.Duplicate" in p.stderr
    # a port range and an outbound rule
    ok(gpuctl(sim, "rules", "add", "in", "udp", "60000-61000", "203.0.113.7", box["id"]))
    assert ["in", box["group"], "udp", "60000-61000", "203.0.113.7/32", ""] in rules(
        sim, box["id"])
    ok(gpuctl(sim, "rules", "add", "out", "tcp", "443", "0.0.0.0/0", box["id"]))
    # remove
    p = ok(gpuctl(sim, "rules", "remove", "in", "tcp", "8888", "203.0.113.0/24", box["id"]))
    assert p.stdout.startswith(f"in\t{box['group']}\ttcp\t8888\t203.0.113.0/24")
    ok(gpuctl(sim, "rules", "remove", "in", "udp", "60000-61000", "203.0.113.7/32", box["id"]))
    ok(gpuctl(sim, "rules", "remove", "out", "tcp", "443", "0.0.0.0/0", box["id"]))
    g = aws("describe-security-groups", "--group-ids", box["group"])["SecurityGroups"][0]
    assert not [x for x in g["IpPermissions"] if x.get("FromPort") in (8888, 60000)]
    p = gpuctl(sim, "rules", "remove", "in", "tcp", "8888", "203.0.113.0/24", box["id"])
    assert p.returncode == 4 and "InvalidPermission.NotFound" in p.stderr


def test_rules_world_ssh_refused(sim, box, aws):
    for args in (["tcp", "22", "0.0.0.0/0"], ["tcp", "20-30", "0.0.0.0/0"],
                 ["all", "all", "0.0.0.0/0"], ["tcp", "all", "0.0.0.0/0"]):
        p = gpuctl(sim, "rules", "add", "in", *args, box["id"])
        assert p.returncode == 2, args
        assert "--allow-world" in p.stderr and p.stdout == ""
    g = aws("describe-security-groups", "--group-ids", box["group"])["SecurityGroups"][0]
    assert not any(r["CidrIp"] == "0.0.0.0/0" for x in g["IpPermissions"]
                   for r in x["IpRanges"])
    # other ports to the world, and 22 outbound, are fine
    ok(gpuctl(sim, "rules", "add", "in", "tcp", "8080", "0.0.0.0/0", box["id"]))
    ok(gpuctl(sim, "rules", "remove", "in", "tcp", "8080", "0.0.0.0/0", box["id"]))
    p = ok(gpuctl(sim, "rules", "add", "in", "tcp", "22", "0.0.0.0/0", box["id"],
                  "--allow-world"))
    assert p.stdout == f"in\t{box['group']}\ttcp\t22\t0.0.0.0/0\t\n"
    ok(gpuctl(sim, "rules", "remove", "in", "tcp", "22", "0.0.0.0/0", box["id"]))


def test_rules_validation(sim, box):
    bad = [["add", "in", "tcp", "70000", "1.2.3.4/32"],
           ["add", "in", "tcp", "9000-8000", "1.2.3.4/32"],
           ["add", "in", "tcp", "x", "1.2.3.4/32"],
           ["add", "sideways", "tcp", "22", "1.2.3.4/32"],
           ["add", "in", "sctp", "22", "1.2.3.4/32"],
           ["add", "in", "all", "22", "1.2.3.4/32"],
           ["add", "in", "tcp", "22", "1.2.3.4/33"],
           ["add", "in", "tcp", "22", "1.2.3/24"],
           ["add", "in", "tcp", "22", "300.2.3.4/32"],
           ["add", "in", "tcp", "22"],
           ["remove", "in", "tcp", "22", "1.2.3.4/32", "--description", "x"]]
    for args in bad:
        p = gpuctl(sim, "rules", *args, box["id"])
        assert p.returncode == 2, args
    p = gpuctl(sim, "rules", "add", "in", "tcp", "22", "203.0.113.7/24", box["id"])
    assert p.returncode == 2 and "203.0.113.0/24" in p.stderr  # host bits: suggestion
    assert gpuctl(sim, "rules", "--bogus").returncode == 2


def test_rules_picks_gpuctl_group(sim):
    plain = make_group(sim, uniq("plain"), managed=False)
    mine = make_group(sim, uniq("gpuctl-x"), managed=False)
    iid = run_instance(sim, uniq("two"), groups=[plain, mine])
    p = ok(gpuctl(sim, "rules", "add", "in", "tcp", "9000", "192.0.2.0/24", iid))
    assert p.stdout.split("\t")[1] == mine
    assert mine in p.stderr and "one of the 2 security groups" in p.stderr
    groups = sim.state()[REGION]["groups"]
    assert ["tcp", 9000, 9000, "192.0.2.0/24", None] in groups[mine]["ingress"]
    assert groups[plain]["ingress"] == []
    rows = rules(sim, iid)
    assert [r[1] for r in rows if r[0] == "out"] == [plain, mine]


def checks(p):
    return {r[0]: (r[1], r[2]) for r in (line.split("\t") for line in p.stdout.splitlines())}


def test_doctor_healthy(sim, box):
    p = gpuctl(sim, "doctor", box["name"], extra_env={"GPUCTL_CALLER_IP": MY_IP})
    assert p.returncode == 0, (p.stdout, p.stderr)
    c = checks(p)
    assert list(c) == ["credentials", "limits", "state", "key", "address", "user", "ssh",
                       "outbound"]
    assert all(r == "OK" for r, _ in c.values()), c
    assert "environment" in c["credentials"][1] and "us-west-1" in c["credentials"][1]
    assert "AWS_REGION" in c["credentials"][1]
    assert str(box["keyfile"]) in c["key"][1]
    assert c["user"][1].startswith("ubuntu")
    assert MY_IP in c["ssh"][1] and box["group"] in c["ssh"][1]
    p = gpuctl(sim, "doctor", box["id"], "--output", "json",
               extra_env={"GPUCTL_CALLER_IP": MY_IP})
    doc = json.loads(p.stdout)
    assert [x["check"] for x in doc["checks"]][:2] == ["credentials", "limits"]
    assert set(doc["checks"][0]) == {"check", "result", "detail"}
    p = gpuctl(sim, "doctor", box["id"], "--output", "table",
               extra_env={"GPUCTL_CALLER_IP": MY_IP})
    assert p.stdout.splitlines()[0].split() == ["CHECK", "RESULT", "DETAIL"]


def test_doctor_caller_ip_outside(sim, box):
    p = gpuctl(sim, "doctor", box["id"], extra_env={"GPUCTL_CALLER_IP": "192.0.2.99"})
    assert p.returncode == 1
    c = checks(p)
    assert c["ssh"][0] == "FAIL"
    assert f"gpuctl rules add in tcp 22 192.0.2.99/32" in c["ssh"][1]
    assert [k for k, (r, _) in c.items() if r != "OK"] == ["ssh"]


def test_doctor_missing_and_open_key(sim):
    key = uniq("gpuctl-key")
    path = make_key(sim, key, mode=0o644)
    gid = make_group(sim, uniq("gpuctl-sg"), ssh_cidr="198.51.100.0/24")
    iid = run_instance(sim, uniq("keybox"), key=key, groups=[gid])
    wait_state(sim, iid, "running")
    env = {"GPUCTL_CALLER_IP": MY_IP}
    p = gpuctl(sim, "doctor", iid, extra_env=env)
    c = checks(p)
    assert p.returncode == 1 and c["key"][0] == "FAIL"
    assert f"chmod 600 {path}" in c["key"][1] and "0644" in c["key"][1]
    path.unlink()
    p = gpuctl(sim, "doctor", iid, extra_env=env)
    c = checks(p)
    assert p.returncode == 1 and c["key"][0] == "FAIL"
    assert str(path) in c["key"][1] and key in c["key"][1]
    assert c["ssh"][0] == "OK"  # 198.51.100.0/24 admits MY_IP
    ok(gpuctl(sim, "terminate", "--yes", iid))


def test_doctor_stopped_instance(sim):
    key = uniq("gpuctl-key")
    make_key(sim, key)
    gid = make_group(sim, uniq("gpuctl-sg"), ssh_cidr=f"{MY_IP}/32")
    iid = run_instance(sim, uniq("stopbox"), key=key, groups=[gid])
    wait_state(sim, iid, "running")
    api(sim, "StopInstances", f"InstanceId.1={iid}")
    wait_state(sim, iid, "stopped")
    p = gpuctl(sim, "doctor", iid, extra_env={"GPUCTL_CALLER_IP": MY_IP})
    assert p.returncode == 1
    c = checks(p)
    assert c["state"][0] == "FAIL" and f"gpuctl start {iid}" in c["state"][1]
    assert c["address"][0] != "OK"
    assert c["key"][0] == "OK" and c["ssh"][0] == "OK"


def test_doctor_no_instance(sim):
    p = gpuctl(sim, "doctor")
    assert p.returncode == 0, p.stderr
    assert list(checks(p)) == ["credentials", "limits"]
    p = gpuctl(sim, "doctor", "no-such-box")
    assert p.returncode == 1 and "no-such-box" in checks(p)["state"][1]


def test_doctor_bad_credentials(sim):
    p = gpuctl(sim, "doctor", extra_env={"AWS_SECRET_ACCESS_KEY": "wrong" * 8})
    assert p.returncode == 1
    c = checks(p)
    assert c["credentials"][0] == "FAIL" and "SignatureDoesNotMatch" in c["credentials"][1]
    assert "wrong" not in p.stdout + p.stderr
    p = gpuctl(sim, "doctor", extra_env={"AWS_REGION": None, "AWS_DEFAULT_REGION": None})
    assert p.returncode == 1 and checks(p)["credentials"][0] == "FAIL"


def test_doctor_vcpu_quota_zero(sim_factory):
    s = sim_factory(boot_delay=0.2, ssh_delay=0.2, vcpu_limit=0)
    p = gpuctl(s, "doctor")
    c = checks(p)
    assert p.returncode == 0
    detail = c["limits"][1]
    assert "https://console.aws.amazon.com/servicequotas/" in detail
    assert '"Running On-Demand G and VT instances"' in detail and "us-west-1" in detail
    # and launching a GPU type there fails as the check says
    p = gpuctl(s, "api", "RunInstances", "ImageId=" + s.state()[REGION]["images"]["vict0rsch-1.0"],
               "InstanceType=g4dn.xlarge", "MinCount=1", "MaxCount=1", "ClientToken=x1")
    assert p.returncode == 4 and "VcpuLimitExceeded" in p.stderr
