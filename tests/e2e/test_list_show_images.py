"""gpuctl list, show and images against the simulator, in the three output formats."""
import json
import os
import re
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gpuctl_helpers import GPUCTL, gpuctl

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
REGION = "us-west-1"
# ESC and BEL cannot travel in XML (the simulator, like EC2, sends U+FFFD for
# them); C1 controls, DEL, tab and newline can, and must not reach a terminal.
HOSTILE = "evil\x1b]0;x\x07 \"quoted\" 'single'\nline2\x9b31m\x7f\ttab"
HOSTILE_SEEN = re.compile("evil[?\ufffd]\\]0;x[?\ufffd] \"quoted\" 'single'\\?line2\\?31m\\?\\?tab")
HOSTILE_JSON = HOSTILE.replace("\x1b", "\ufffd").replace("\x07", "\ufffd")


def ok(p):
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def api(sim, *args):
    return ET.fromstring(ok(gpuctl(sim, "api", *args)).stdout)


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run_instance(sim, name, image="vict0rsch-1.0", itype="t3.micro", managed=True,
                 key=None, group=None):
    args = ["RunInstances", f"ImageId={sim.state()[REGION]['images'][image]}",
            f"InstanceType={itype}", "MinCount=1", "MaxCount=1",
            f"ClientToken={uuid.uuid4().hex}",
            "TagSpecification.1.ResourceType=instance",
            "TagSpecification.1.Tag.1.Key=Name", f"TagSpecification.1.Tag.1.Value={name}"]
    if managed:
        args += ["TagSpecification.1.Tag.2.Key=gpuctl:managed",
                 "TagSpecification.1.Tag.2.Value=test"]
    if key:
        args.append(f"KeyName={key}")
    if group:
        args.append(f"SecurityGroupId.1={group}")
    root = api(sim, *args)
    return root.find(f"{NS}instancesSet/{NS}item/{NS}instanceId").text


def wait_state(sim, iid, state, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sim.state()[REGION]["instances"][iid]["state"] == state:
            return
        time.sleep(0.1)
    raise AssertionError(f"{iid} never became {state}")


def text_rows(out):
    return [line.split("\t") for line in out.splitlines()]


def check_aligned(out, ncols):
    """Every row's cells start at the header's column offsets."""
    lines = out.splitlines()
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", header)]
    assert len(starts) == ncols, header
    for line in lines[1:]:
        for s in starts[1:]:
            assert line[s - 2:s] == "  " and line[s] != " ", (header, line)
    return starts


@pytest.fixture(scope="module")
def fleet(sim):
    """Two managed instances (one stopped), one unmanaged, one terminated."""
    a = run_instance(sim, uniq("alpha"))
    time.sleep(0.05)
    b = run_instance(sim, uniq("beta"), image="al2023-ami-2023.6.20241010.0-kernel-6.1-x86_64")
    other = run_instance(sim, uniq("other"), managed=False)
    gone = run_instance(sim, uniq("gone"))
    for i in (a, b, other, gone):
        wait_state(sim, i, "running")
    api(sim, "StopInstances", f"InstanceId.1={b}")
    api(sim, "TerminateInstances", f"InstanceId.1={gone}")
    wait_state(sim, b, "stopped")
    wait_state(sim, gone, "terminated")
    return {"a": a, "b": b, "other": other, "gone": gone}


def test_list_text(sim, fleet):
    p = ok(gpuctl(sim, "list"))
    rows = text_rows(p.stdout)
    ids = [r[0] for r in rows]
    assert fleet["a"] in ids and fleet["b"] in ids
    assert fleet["other"] not in ids and fleet["gone"] not in ids
    assert rows == sorted(rows, key=lambda r: (r[5], r[0]))  # launch time, then ID
    for r in rows:
        assert len(r) == 7, r
    ra = rows[ids.index(fleet["a"])]
    rb = rows[ids.index(fleet["b"])]
    assert ra[1].startswith("alpha-") and ra[2] == "t3.micro" and ra[3] == "running"
    assert ra[4].startswith("ec2-127-0-0-") and ra[4].endswith(".compute.amazonaws.com")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ra[5])
    assert re.fullmatch(r"\d+[smhd].*", ra[6])
    assert rb[3] == "stopped" and rb[4] == "" and rb[6] == ""


def test_list_json(sim, fleet):
    doc = json.loads(ok(gpuctl(sim, "--output", "json", "list")).stdout)
    by_id = {i["instanceId"]: i for i in doc["instances"]}
    a = by_id[fleet["a"]]
    assert set(a) == {"instanceId", "name", "instanceType", "instanceState", "publicDnsName",
                      "ipAddress", "launchTime", "uptimeSeconds"}
    assert a["instanceState"] == "running" and a["ipAddress"].startswith("127.0.0.")
    assert isinstance(a["uptimeSeconds"], int) and 0 <= a["uptimeSeconds"] < 600
    b = by_id[fleet["b"]]
    assert b["uptimeSeconds"] is None and b["ipAddress"] is None


def test_list_table_aligned(sim, fleet):
    p = ok(gpuctl(sim, "list", "--output", "table", "--all"))
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "STATE", "PUBLIC", "DNS", "LAUNCHED",
                                "UPTIME"]
    check_aligned(p.stdout, 7)
    assert any(fleet["other"] in line for line in lines)  # --all
    assert not any(fleet["gone"] in line for line in lines)


def test_list_state_filters(sim, fleet):
    p = ok(gpuctl(sim, "list", "--state", "terminated"))
    assert [r[0] for r in text_rows(p.stdout)] == [fleet["gone"]]
    p = ok(gpuctl(sim, "list", "--state=running,stopped"))
    ids = {r[0] for r in text_rows(p.stdout)}
    assert {fleet["a"], fleet["b"]} <= ids and fleet["gone"] not in ids
    p = ok(gpuctl(sim, "list", "--state", "stopped", "--state", "pending"))
    assert fleet["a"] not in p.stdout and fleet["b"] in p.stdout
    p = gpuctl(sim, "list", "--state", "runing")
    assert p.returncode == 2 and "runing" in p.stderr and p.stdout == ""


def test_list_empty_region(sim):
    p = ok(gpuctl(sim, "--region", "us-east-1", "list"))
    assert p.stdout == ""
    p = ok(gpuctl(sim, "--region", "us-east-1", "list", "--output", "table"))
    assert p.stdout == ""
    p = ok(gpuctl(sim, "list", "--region", "us-east-1", "--output", "json"))
    assert json.loads(p.stdout) == {"instances": []}


def test_list_usage(sim):
    assert gpuctl(sim, "list", "--bogus").returncode == 2
    assert gpuctl(sim, "list", "extra").returncode == 2
    p = ok(gpuctl(sim, "list", "--help"))
    assert p.stdout.startswith("usage: gpuctl list")


def test_show_all_formats(sim, fleet):
    p = ok(gpuctl(sim, "show", fleet["a"]))
    kv = dict(line.split("\t", 1) for line in p.stdout.splitlines())
    assert kv["instanceId"] == fleet["a"] and kv["instanceState"] == "running"
    assert kv["loginUser"] == "ubuntu" and kv["lifecycle"] == "on-demand"
    assert kv["imageId"] == sim.state()[REGION]["images"]["vict0rsch-1.0"]
    assert re.fullmatch(r"sg-[0-9a-f]+\(default\)", kv["securityGroups"])
    assert re.fullmatch(r"/dev/sda1 \(vol-[0-9a-f]+\)", kv["rootDevice"])
    assert "gpuctl:managed=test" in kv["tags"]
    for k in ("publicDnsName", "ipAddress", "privateIpAddress", "availabilityZone", "subnetId",
              "vpcId", "launchTime", "uptime", "keyFile", "volumes"):
        assert k in kv
    # by name, JSON
    name = kv["name"]
    doc = json.loads(ok(gpuctl(sim, "--output", "json", "show", name)).stdout)
    assert doc["instanceId"] == fleet["a"] and isinstance(doc["uptimeSeconds"], int)
    assert "uptime" not in doc
    # Amazon Linux logs in as ec2-user; stopped: no uptime
    doc = json.loads(ok(gpuctl(sim, "show", fleet["b"], "--output", "json")).stdout)
    assert doc["loginUser"] == "ec2-user" and doc["uptimeSeconds"] is None
    # table: "Title  value" aligned
    p = ok(gpuctl(sim, "show", fleet["a"], "--output", "table"))
    lines = p.stdout.splitlines()
    col = lines[0].index(fleet["a"])
    assert lines[0].startswith("Instance ID")
    assert all(line[col - 2:col] == "  " and line[col] != " " for line in lines)


def test_show_last_and_errors(sim, fleet):
    p = gpuctl(sim, "show")
    assert p.returncode == 1 and "none launched" in p.stderr
    state = Path(sim.env["XDG_STATE_HOME"]) / "gpuctl" / REGION
    state.mkdir(parents=True, exist_ok=True)
    (state / "last-instance").write_text(fleet["a"] + "\n")
    try:
        p = ok(gpuctl(sim, "show", "-q"))
        assert p.stdout.startswith(f"instanceId\t{fleet['a']}\n")
    finally:
        (state / "last-instance").unlink()
    p = gpuctl(sim, "show", "no-such-name")
    assert p.returncode == 1 and "no-such-name" in p.stderr
    p = gpuctl(sim, "show", "i-0123456789abcdef0")
    assert p.returncode == 4 and "InvalidInstanceID.NotFound" in p.stderr
    assert gpuctl(sim, "show", "a", "b").returncode == 2


def test_show_key_file(sim):
    key = uniq("kp")
    root = api(sim, "CreateKeyPair", f"KeyName={key}", "KeyType=ed25519")
    iid = run_instance(sim, uniq("keyed"), key=key)
    doc = json.loads(ok(gpuctl(sim, "show", iid, "--output", "json")).stdout)
    assert doc["keyName"] == key and doc["keyFile"] is None
    d = Path(sim.env["XDG_CONFIG_HOME"]) / "gpuctl" / "keys" / REGION
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{key}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, root.find(NS + "keyMaterial").text.encode())
    os.close(fd)
    doc = json.loads(ok(gpuctl(sim, "show", iid, "--output", "json")).stdout)
    assert doc["keyFile"] == str(path)


def test_hostile_name_is_sanitised(sim):
    iid = run_instance(sim, uniq("plain"))
    ok(gpuctl(sim, "api", "CreateTags", f"ResourceId.1={iid}", "Tag.1.Key=Name",
              f"Tag.1.Value={HOSTILE}"))
    for fmt in ("text", "table"):
        p = ok(gpuctl(sim, "list", "--output", fmt))
        assert "\x1b" not in p.stdout and "\x07" not in p.stdout
        line = next(line for line in p.stdout.splitlines() if iid in line)
        assert HOSTILE_SEEN.search(line), line
        assert "\x9b" not in line and "\x7f" not in line
        if fmt == "text":
            assert len(line.split("\t")) == 7
        p = ok(gpuctl(sim, "show", iid, "--output", fmt))
        assert "\x1b" not in p.stdout and "\x07" not in p.stdout
    p = ok(gpuctl(sim, "list", "--output", "table"))
    check_aligned(p.stdout, 7)
    p = ok(gpuctl(sim, "list", "--output", "json"))
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout
    assert "\\nline2" in p.stdout and "\\ttab" in p.stdout  # escaped by JSON
    names = {i["instanceId"]: i["name"] for i in json.loads(p.stdout)["instances"]}
    assert names[iid] in (HOSTILE, HOSTILE_JSON)
    doc = json.loads(ok(gpuctl(sim, "show", iid, "--output", "json")).stdout)
    assert doc["name"] in (HOSTILE, HOSTILE_JSON)


def test_invalid_utf8_name(sim):
    iid = run_instance(sim, uniq("bytes"))
    env = dict(sim.env)
    p = subprocess.run([GPUCTL, "api", "CreateTags", f"ResourceId.1={iid}".encode(),
                        b"Tag.1.Key=Name", b"Tag.1.Value=bad\xff\xfebyte\xc3"],
                       env=env, capture_output=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([GPUCTL, "list", "--output", "text"], env=env, capture_output=True)
    assert p.returncode == 0
    line = next(line for line in p.stdout.split(b"\n") if iid.encode() in line)
    line.decode("utf-8")  # valid UTF-8 on stdout
    assert b"\xff" not in line and b"\t" + b"bad" in line and b"byte" in line
    p = subprocess.run([GPUCTL, "list", "--output", "json"], env=env, capture_output=True)
    doc = json.loads(p.stdout.decode("utf-8"))
    name = {i["instanceId"]: i["name"] for i in doc["instances"]}[iid]
    assert name.startswith("bad") and "byte" in name and "\ufffd" in name


def test_images_exact_name(sim):
    p = ok(gpuctl(sim, "images", "vict0rsch-1.0"))
    rows = text_rows(p.stdout)
    assert len(rows) == 1
    assert rows[0] == [sim.state()[REGION]["images"]["vict0rsch-1.0"], "vict0rsch-1.0",
                       "979382823631", rows[0][3], REGION]
    assert rows[0][3].startswith("20")


def test_images_not_in_other_region(sim):
    p = gpuctl(sim, "--region", "us-east-1", "images", "vict0rsch-1.0")
    assert p.returncode == 1 and p.stdout == ""
    assert "no image matches 'vict0rsch-1.0' in us-east-1" in p.stderr
    assert "regional" in p.stderr and "--region" in p.stderr
    p = gpuctl(sim, "images", "vict0rsch-1.0", "--output", "json", "--region", "us-east-1")
    assert p.returncode == 1 and p.stdout == ""


def test_images_pattern_newest_first(sim):
    p = ok(gpuctl(sim, "images", "Deep Learning*", "--output", "json"))
    imgs = json.loads(p.stdout)["images"]
    assert len(imgs) == 3
    dates = [i["creationDate"] for i in imgs]
    assert dates == sorted(dates, reverse=True)
    assert imgs[0]["name"].endswith("20241010")
    for i in imgs:
        assert set(i) == {"imageId", "name", "ownerId", "ownerAlias", "creationDate", "region",
                          "description"}
        assert i["ownerAlias"] == "amazon" and i["region"] == REGION
    p = ok(gpuctl(sim, "images", "Deep Learning*PyTorch 2.? *", "--output", "table"))
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "OWNER", "CREATED", "REGION"]
    assert len(lines) == 4 and "20241010" in lines[1] and "20240601" in lines[3]
    check_aligned(p.stdout, 5)


def test_images_owner(sim):
    p = ok(gpuctl(sim, "images", "*", "--owner", "amazon"))
    names = [r[1] for r in text_rows(p.stdout)]
    assert names and all(r[2] == "amazon" for r in text_rows(p.stdout))
    assert "vict0rsch-1.0" not in names
    p = ok(gpuctl(sim, "images", "*", "--owner=self"))
    assert [r[1] for r in text_rows(p.stdout)] == ["gpuctl-custom-ubuntu-20241101"]
    p = gpuctl(sim, "images", "vict0rsch-1.0", "--owner", "amazon")
    assert p.returncode == 1
    p = ok(gpuctl(sim, "images", "vict0rsch-1.0", "--owner", "all"))
    assert "vict0rsch-1.0" in p.stdout
    ami = sim.state()[REGION]["images"]["vict0rsch-1.0"]
    p = ok(gpuctl(sim, "images", ami))
    assert p.stdout.startswith(ami + "\tvict0rsch-1.0\t")


def test_images_usage(sim):
    assert gpuctl(sim, "images").returncode == 2
    assert gpuctl(sim, "images", "x", "--owner", "bob").returncode == 2
    assert gpuctl(sim, "images", "x", "--nope").returncode == 2
    assert gpuctl(sim, "images", "x", "y").returncode == 2
    assert ok(gpuctl(sim, "images", "--help")).stdout.startswith("usage: gpuctl images")
