"""A full gpuctl-like session driven by the AWS CLI v2 and OpenSSH against the simulator."""
import re
import subprocess
import time

from simclient import client


def wait_state(ec2, iid, state, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        if st["State"]["Name"] == state:
            return st
        time.sleep(0.1)
    raise AssertionError(f"{iid} never reached {state}")


def ssh(key, kh, ip, cmd, timeout=20, check=True):
    args = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={kh}",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"ubuntu@{ip}", cmd]
    deadline = time.time() + timeout
    while True:
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if p.returncode != 255 or time.time() > deadline or not check:
            break
        time.sleep(0.2)  # sshd not up yet
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_full_session(sim, aws, tmp_path):
    ec2 = client(sim)
    km = aws("create-key-pair", "--key-name", "gpuctl-key", "--key-type", "ed25519")
    assert km["KeyName"] == "gpuctl-key" and km["KeyPairId"].startswith("key-")
    assert km["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    key = tmp_path / "gpuctl-key.pem"
    key.write_text(km["KeyMaterial"])
    key.chmod(0o600)
    rsa = aws("create-key-pair", "--key-name", "rsa-key")
    assert rsa["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert re.fullmatch(r"([0-9a-f]{2}:){19}[0-9a-f]{2}", rsa["KeyFingerprint"])
    keys = aws("describe-key-pairs", "--key-names", "gpuctl-key")["KeyPairs"]
    assert keys[0]["KeyType"] == "ed25519" and keys[0]["KeyFingerprint"] == km["KeyFingerprint"]

    sg = aws("create-security-group", "--group-name", "gpuctl-sg", "--description", "gpuctl ssh")["GroupId"]
    aws("authorize-security-group-ingress", "--group-id", sg, "--protocol", "tcp", "--port", "22",
        "--cidr", "0.0.0.0/0")
    g = aws("describe-security-groups", "--group-ids", sg)["SecurityGroups"][0]
    assert g["IpPermissions"][0]["FromPort"] == 22 and g["IpPermissions"][0]["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
    assert g["IpPermissionsEgress"][0]["IpProtocol"] == "-1"

    imgs = aws("describe-images", "--filters", "Name=name,Values=vict0rsch-1.0")["Images"]
    assert len(imgs) == 1 and "Ubuntu" in imgs[0]["Description"]
    ami = imgs[0]["ImageId"]
    dl = aws("describe-images", "--owners", "amazon", "--filters",
             "Name=name,Values=Deep Learning AMI GPU PyTorch 2.3 (Ubuntu 22.04) ????????")["Images"]
    assert len(dl) == 3

    ud = "#!/bin/bash\necho GPUCTL_SIM_FAIL_TEST=tensorflow\n"
    run = aws("run-instances", "--image-id", ami, "--instance-type", "g4dn.xlarge", "--count", "1",
              "--key-name", "gpuctl-key", "--security-group-ids", sg, "--user-data", ud,
              "--block-device-mappings", "DeviceName=/dev/sda1,Ebs={VolumeSize=50,VolumeType=gp3}",
              "--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=gpuctl-test}]")
    inst = run["Instances"][0]
    iid = inst["InstanceId"]
    assert inst["State"]["Name"] == "pending" and inst["KeyName"] == "gpuctl-key"
    wait_state(ec2, iid, "running")
    aws("wait", "instance-running", "--instance-ids", iid)  # returns at its first poll
    d = aws("describe-instances", "--instance-ids", iid)["Reservations"][0]["Instances"][0]
    ip = d["PublicIpAddress"]
    assert re.fullmatch(r"127\.0\.0\.\d+", ip)
    assert d["Tags"] == [{"Key": "Name", "Value": "gpuctl-test"}]
    assert d["SecurityGroups"][0]["GroupId"] == sg and d["Placement"]["AvailabilityZone"].startswith("us-west-1")
    assert d["BlockDeviceMappings"][0]["Ebs"]["VolumeId"].startswith("vol-")

    out = aws("get-console-output", "--instance-id", iid)["Output"]
    m = re.search(r"-----BEGIN SSH HOST KEY KEYS-----\n(ssh-ed25519 \S+) \S+\n-----END SSH HOST KEY KEYS-----", out)
    assert m and "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 SHA256:" in out
    kh = tmp_path / "known_hosts"
    kh.write_text(f"{ip} {m.group(1)}\n")

    p = ssh(key, kh, ip, "whoami; echo $HOME; ~/test/test_pytorch.sh; nvidia-smi -L; "
            "nvidia-smi --query-gpu=name,memory.total --format=csv,noheader")
    assert p.stdout.splitlines()[:2] == ["ubuntu", "/home/ubuntu"]
    assert "PyTorch test passed" in p.stdout and "GPU 0: NVIDIA H200" in p.stdout
    assert "NVIDIA H200, 143771 MiB" in p.stdout
    assert "NVIDIA-SMI" in ssh(key, kh, ip, "nvidia-smi").stdout
    assert ssh(key, kh, ip, "~/test/test_tensorflow.sh", check=False).returncode == 1  # from UserData
    ssh(key, kh, ip, "echo kept > ~/before-stop.txt")
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    assert ssh(other, kh, ip, "true", check=False).returncode == 255  # only the instance's key pair

    st = aws("stop-instances", "--instance-ids", iid)["StoppingInstances"][0]
    assert st["CurrentState"]["Name"] == "stopping" and st["PreviousState"]["Name"] == "running"
    stopped = wait_state(ec2, iid, "stopped")
    assert "PublicIpAddress" not in stopped
    assert ssh(key, kh, ip, "true", check=False).returncode == 255
    st = aws("start-instances", "--instance-ids", iid)["StartingInstances"][0]
    assert st["CurrentState"]["Name"] == "pending"
    ip2 = wait_state(ec2, iid, "running")["PublicIpAddress"]
    kh.write_text(f"{ip2} {m.group(1)}\n")  # the same host key after start
    assert ssh(key, kh, ip2, "cat ~/before-stop.txt").stdout == "kept\n"

    vols = aws("describe-volumes", "--filters", f"Name=attachment.instance-id,Values={iid}")["Volumes"]
    assert len(vols) == 1 and vols[0]["Size"] == 50 and vols[0]["Attachments"][0]["InstanceId"] == iid
    snap = aws("create-snapshot", "--volume-id", vols[0]["VolumeId"], "--description", "gpuctl snap",
               "--tag-specifications", "ResourceType=snapshot,Tags=[{Key=k,Value=v}]")
    assert snap["State"] == "pending"
    for _ in range(100):
        s = aws("describe-snapshots", "--owner-ids", "self", "--snapshot-ids", snap["SnapshotId"])["Snapshots"][0]
        if s["State"] == "completed":
            break
        time.sleep(0.3)
    assert s["State"] == "completed" and s["Progress"] == "100%" and s["Tags"] == [{"Key": "k", "Value": "v"}]

    t = aws("terminate-instances", "--instance-ids", iid)["TerminatingInstances"][0]
    assert t["CurrentState"]["Name"] == "shutting-down"
    wait_state(ec2, iid, "terminated")
    assert sim.state()["us-west-1"]["instances"][iid]["sshd_pid"] is None
    assert aws("describe-volumes", "--filters", f"Name=attachment.instance-id,Values={iid}")["Volumes"] == []
    aws("delete-snapshot", "--snapshot-id", snap["SnapshotId"])
    aws("delete-security-group", "--group-id", sg)
    aws("delete-key-pair", "--key-name", "gpuctl-key")
    assert aws("describe-key-pairs", "--key-names", "gpuctl-key", check=False).returncode != 0
