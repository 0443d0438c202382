"""gpuctl launch against the simulator: the whole walk-through, idempotency
under faults and interruptions, and the errors the tutorial warns about."""
import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from gpuctl_helpers import GPUCTL, gpuctl

CALLER = "127.0.0.1"


def launch_env(sim, **extra):
    env = dict(sim.env, GPUCTL_CALLER_IP=CALLER)
    env.update(extra)
    return env


def managed(sim, region="us-west-1", states=None):
    """The simulator's instances that carry gpuctl's tag, with their IDs."""
    out = []
    for iid, i in sim.state()[region]["instances"].items():
        if "gpuctl:managed" in i.get("tags", {}):
            if states is None or i["state"] in states:
                out.append(dict(i, id=iid))
    return out


def ingress_cidrs(group):
    return sorted(r[3] for r in group["ingress"])


def test_launch_by_name_does_the_walkthrough(sim_factory):
    sim = sim_factory(boot_delay=0.3, ssh_delay=0.2)
    env = launch_env(sim)
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
               "--name", "walk", "--wait", "running", env=env)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"i-[0-9a-f]{8,17}\n", p.stdout), p.stdout
    iid = p.stdout.strip()
    st = sim.state()["us-west-1"]
    inst = st["instances"][iid]
    assert inst["state"] == "running"
    assert inst["tags"]["Name"] == "walk"
    assert inst["tags"]["gpuctl:managed"] == "true"
    assert inst["type"] == "g2.2xlarge"
    # the AMI by its exact name
    assert inst["image"] == st["images"]["vict0rsch-1.0"]
    # the root volume is 16 GiB, as the tutorial advises
    vols = [v for v in st["volumes"].values() if v["instance"] == iid]
    assert len(vols) == 1 and vols[0]["size"] == 16
    # the key pair: created, its private key 0600 in a 0700 folder
    key = inst["key"]
    assert key in st["keys"]
    kdir = Path(env["XDG_CONFIG_HOME"]) / "gpuctl" / "keys" / "us-west-1"
    kfile = kdir / f"{key}.pem"
    assert stat.S_IMODE(kfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(kdir.stat().st_mode) == 0o700
    assert "PRIVATE KEY" in kfile.read_text()
    # the security group: SSH from the caller's IP only
    assert len(inst["groups"]) == 1
    g = st["groups"][inst["groups"][0]]
    assert g["name"] == "gpuctl-ssh"
    assert [tuple(r[:4]) for r in g["ingress"]] == [("tcp", 22, 22,
                                                     f"{CALLER}/32")]


def test_second_launch_reuses_key_and_group(sim_factory):
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.1)
    env = launch_env(sim)
    args = ("launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
            "--wait", "none")
    a = gpuctl(sim, *args, env=env)
    assert a.returncode == 0, a.stderr
    # the caller's IP changed: the rule is added for the new one
    b = gpuctl(sim, *args, env=dict(env, GPUCTL_CALLER_IP="127.0.0.9"))
    assert b.returncode == 0, b.stderr
    assert a.stdout != b.stdout            # a finished launch is not adopted
    st = sim.state()["us-west-1"]
    assert len(st["keys"]) == 1
    groups = [g for g in st["groups"].values() if g["name"] == "gpuctl-ssh"]
    assert len(groups) == 1
    assert ingress_cidrs(groups[0]) == ["127.0.0.1/32", "127.0.0.9/32"]


def test_launch_by_pattern_takes_newest(sim_factory, aws):
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.1)
    env = launch_env(sim)
    imgs = aws("describe-images", "--filters",
               "Name=name,Values=Deep Learning AMI GPU PyTorch*", sim=sim)
    newest = max(imgs["Images"], key=lambda i: i["CreationDate"])
    p = gpuctl(sim, "launch", "--ami", "Deep Learning AMI GPU PyTorch*",
               "--type", "g4dn.xlarge", "--wait", "none", env=env)
    assert p.returncode == 0, p.stderr
    d = aws("describe-instances", "--instance-ids", p.stdout.strip(), sim=sim)
    assert d["Reservations"][0]["Instances"][0]["ImageId"] == newest["ImageId"]


def test_ami_is_regional(sim):
    p = gpuctl(sim, "--region", "us-east-1", "launch", "--ami", "vict0rsch-1.0",
               "--type", "g2.2xlarge", env=launch_env(sim))
    assert p.returncode == 1
    assert p.stdout == ""
    assert "no image is named 'vict0rsch-1.0' in us-east-1" in p.stderr
    assert "AMIs are regional" in p.stderr and "--region" in p.stderr


def test_vcpu_limit_explained(sim_factory):
    sim = sim_factory(vcpu_limit=0)
    env = launch_env(sim)
    for _ in range(2):   # the failed launch leaves nothing half-open
        p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type",
                   "g2.2xlarge", env=env)
        assert p.returncode == 4, p.stderr
        assert "VcpuLimitExceeded" in p.stderr
        assert "request a higher limit" in p.stderr
        assert "Service Quotas" in p.stderr
    assert managed(sim) == []


def test_key_pair_without_local_key(sim):
    env = launch_env(sim)
    p = gpuctl(sim, "api", "CreateKeyPair", "KeyName=elsewhere", env=env)
    assert p.returncode == 0
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
               "--key", "elsewhere", env=env)
    assert p.returncode == 1
    assert "key pair elsewhere exists in us-west-1" in p.stderr
    assert "--key" in p.stderr


def test_usage_errors(sim):
    assert gpuctl(sim, "launch", "--type", "g2.2xlarge").returncode == 2
    assert gpuctl(sim, "launch", "--ami", "x", "--type", "t", "--count",
                  "0").returncode == 2
    assert gpuctl(sim, "launch", "--ami", "x", "--type", "t", "--wait",
                  "soon").returncode == 2
    assert gpuctl(sim, "launch", "--ami", "x", "--type", "t",
                  "--volume-size", "-1").returncode == 2
    p = gpuctl(sim, "launch", "--help")
    assert p.returncode == 0 and "--volume-size" in p.stdout


def test_faults_still_one_instance(sim_factory):
    sim = sim_factory(boot_delay=0.3, ssh_delay=0.1, seed=7,
                      faults="throttle=0.15,500=0.1,503=0.05,run-drop=1,"
                             "consistency=2s,commit-drop@CreateKeyPair=1,"
                             "commit-drop@CreateSecurityGroup=1")
    env = launch_env(sim)
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
               "--name", "faulty", "--wait", "running", env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    insts = managed(sim)
    assert len(insts) == 1
    assert insts[0]["id"] == p.stdout.strip()
    faults = sim.stats()["faults"]
    assert faults.get("commit-drop", 0) >= 3, faults
    # the key pair made by the lost answer was replaced: the key on disk
    # is the one the instance accepts (checked by logging in)
    p = gpuctl(sim, "ssh", "--", "echo", "ok", env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ok\n"


@pytest.mark.parametrize("where,delay", [
    ("before RunInstances", 0.3),
    ("during RunInstances", 1.2),
    ("while waiting", 2.5),
])
def test_interrupted_launch_rerun_makes_one(sim_factory, where, delay):
    # slow answers widen the windows the signal lands in
    sim = sim_factory(boot_delay=3, ssh_delay=0.1,
                      faults="slow@DescribeImages=1:0.8,"
                             "commit-drop@RunInstances=1,"
                             "slow@RunInstances=1:1")
    env = launch_env(sim)
    args = [GPUCTL, "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
            "--name", "intr", "--wait", "running"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    p = gpuctl(sim, *args[1:], env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    insts = managed(sim)
    assert len(insts) == 1, (where, insts)
    assert p.stdout.strip() == insts[0]["id"]
    # and the run after a finished launch is a new launch
    p2 = gpuctl(sim, *args[1:-2], "--wait", "none", env=env)
    assert p2.returncode == 0
    assert len(managed(sim)) == 2


def test_launch_waits_for_ssh_then_ssh_works(sim_factory):
    sim = sim_factory(boot_delay=0.5, ssh_delay=2)
    env = launch_env(sim)
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
               env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    iid = p.stdout.strip()
    # pinned from the console output: no trust-on-first-use warning
    assert "permanently added" not in p.stderr
    kh = Path(env["XDG_CONFIG_HOME"]) / "gpuctl" / "known_hosts"
    assert kh.exists() and stat.S_IMODE(kh.stat().st_mode) == 0o600
    q = gpuctl(sim, "ssh", iid, "--", "whoami", env=env)
    assert q.returncode == 0, q.stderr
    assert q.stdout == "ubuntu\n"


def test_count_spot_subnet(sim_factory, aws):
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.1)
    env = launch_env(sim)
    subnets = aws("describe-subnets", sim=sim)["Subnets"]
    sub = sorted(subnets, key=lambda s: s["AvailabilityZone"])[-1]
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type",
               "g4dn.xlarge", "--count", "2", "--spot", "--subnet",
               sub["SubnetId"], "--name", "pair", "--volume-size", "40",
               "--wait", "running", env=env)
    assert p.returncode == 0, p.stderr
    ids = p.stdout.split()
    assert len(ids) == 2 and all(re.fullmatch(r"i-[0-9a-f]+", i) for i in ids)
    d = aws("describe-instances", "--instance-ids", *ids, sim=sim)
    insts = [i for r in d["Reservations"] for i in r["Instances"]]
    assert {i["InstanceId"] for i in insts} == set(ids)
    for i in insts:
        assert i["InstanceLifecycle"] == "spot"
        assert i["SubnetId"] == sub["SubnetId"]
        assert i["Placement"]["AvailabilityZone"] == sub["AvailabilityZone"]
        assert {"Key": "Name", "Value": "pair"} in i["Tags"]
    vols = sim.state()["us-west-1"]["volumes"].values()
    assert sorted(v["size"] for v in vols if v["instance"] in ids) == [40, 40]


def test_volume_smaller_than_image_refused(sim):
    p = gpuctl(sim, "launch", "--ami", "Deep Learning AMI GPU PyTorch*",
               "--type", "g4dn.xlarge", "--volume-size", "16",
               env=launch_env(sim))
    assert p.returncode == 1
    assert "at least 75 GiB" in p.stderr and "--volume-size 75" in p.stderr


def test_launch_test_runs_the_scripts(sim_factory, tmp_path):
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.2)
    ud = tmp_path / "ud"
    ud.write_text("GPUCTL_SIM_FAIL_TEST=tensorflow\n")
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type",
               "g2.2xlarge", "--user-data", ud, "--test",
               env=launch_env(sim), timeout=120)
    assert p.returncode == 1, p.stderr           # a test script failed
    lines = p.stdout.splitlines()
    assert re.fullmatch(r"i-[0-9a-f]+", lines[0])
    rows = {line.split("\t")[0]: line.split("\t")[1] for line in lines[1:]}
    assert rows["test_tensorflow.sh"] == "fail"
    assert rows["test_pytorch.sh"] == "pass"
    assert rows["gpu (nvidia-smi)"] == "pass"


def test_recycled_address_confirmed_by_console(sim_factory, tmp_path):
    # EC2 reuses public addresses: a new instance on an address known
    # with an earlier instance's key is accepted when its console output
    # shows the new key.  Every loopback address the simulator may hand out
    # is made known with another key first, so whichever one the instance
    # gets was "used before".
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.2)
    env = launch_env(sim)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(tmp_path / "old")], check=True)
    old = (tmp_path / "old.pub").read_text().split()[1]
    kh = Path(env["XDG_CONFIG_HOME"], "gpuctl", "known_hosts")
    kh.parent.mkdir(parents=True, mode=0o700)
    kh.write_text("".join(f"127.0.0.{n} ssh-ed25519 {old}\n"
                          for n in range(2, 255)))
    kh.chmod(0o600)
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type",
               "g2.2xlarge", env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    ip = sim.state()["us-west-1"]["instances"][p.stdout.strip()]["ip"]
    assert "replaced the host key" in p.stderr
    assert "console output shows this key" in p.stderr
    entries = [l.split() for l in kh.read_text().splitlines()
               if l.startswith(ip + " ")]
    assert len(entries) == 1 and entries[0][2] != old
    q = gpuctl(sim, "ssh", "--", "true", env=env)
    assert q.returncode == 0, q.stderr
