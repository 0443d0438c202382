"""gpuctl api against the simulator, which checks every signature with
botocore's own SigV4 signer."""
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import SECRET_KEY
from gpuctl_helpers import gpuctl

NS = {"ec2": "http://ec2.amazonaws.com/doc/2016-11-15/"}
TEMP_KEY = "ASIATEMPEXAMPLE"
TEMP_SECRET = "tempSecretKeyEXAMPLE0123456789abcdefABCD"
TEMP_TOKEN = "TOKEN-EXAMPLE/+=session"

AWKWARD = [
    "plain",
    "a b  c",
    "a&b=c+d/e%f%20g",
    "caf\u00e9 \u00fcber \u20ac \u65e5\u672c\u8a9e \U0001F680",
    "quote\"s 'and' <angle> brackets",
    "semi;colon,comma:colon?question#hash",
    "~tilde-_.unreserved",
    "",
]


def ok(p):
    assert p.returncode == 0, p.stderr
    return ET.fromstring(p.stdout)


def make_group(sim, name, env=None):
    root = ok(gpuctl(sim, "api", "CreateSecurityGroup", f"GroupName={name}",
                     "GroupDescription=gpuctl api test", env=env))
    return root.find("ec2:groupId", NS).text


def tag_values(sim, rid, env=None):
    root = ok(gpuctl(sim, "api", "DescribeTags", "Filter.1.Name=resource-id",
                     f"Filter.1.Value.1={rid}", env=env))
    return {i.find("ec2:key", NS).text: (i.find("ec2:value", NS).text or "")
            for i in root.iter("{%s}item" % NS["ec2"])}


def test_describe_regions(sim):
    root = ok(gpuctl(sim, "api", "DescribeRegions"))
    names = {r.text for r in root.iter("{%s}regionName" % NS["ec2"])}
    assert {"us-west-1", "us-east-1"} <= names
    assert root.find("ec2:requestId", NS) is not None


@pytest.mark.parametrize("session", [False, True], ids=["keys", "token"])
def test_awkward_values_round_trip(sim, session):
    env = dict(sim.env)
    if session:
        env.update(AWS_ACCESS_KEY_ID=TEMP_KEY, AWS_SECRET_ACCESS_KEY=TEMP_SECRET,
                   AWS_SESSION_TOKEN=TEMP_TOKEN)
    gid = make_group(sim, f"api-awkward-{int(session)}", env=env)
    args = [f"ResourceId.1={gid}"]
    for i, v in enumerate(AWKWARD, 1):
        args += [f"Tag.{i}.Key=k{i} {v}"[:127], f"Tag.{i}.Value={v}"]
    ok(gpuctl(sim, "api", "CreateTags", *args, env=env))
    got = tag_values(sim, gid, env=env)
    for i, v in enumerate(AWKWARD, 1):
        assert got[f"k{i} {v}"[:127]] == v


def test_session_token_is_required_and_checked(sim):
    env = dict(sim.env, AWS_ACCESS_KEY_ID=TEMP_KEY,
               AWS_SECRET_ACCESS_KEY=TEMP_SECRET)
    p = gpuctl(sim, "api", "DescribeRegions", env=env)
    assert p.returncode == 4
    env["AWS_SESSION_TOKEN"] = TEMP_TOKEN + "x"
    p = gpuctl(sim, "api", "DescribeRegions", env=env)
    assert p.returncode == 4
    env["AWS_SESSION_TOKEN"] = TEMP_TOKEN
    ok(gpuctl(sim, "api", "DescribeRegions", env=env))


def test_wrong_secret_is_refused(sim):
    p = gpuctl(sim, "api", "DescribeRegions",
               extra_env={"AWS_SECRET_ACCESS_KEY": "x" + SECRET_KEY[1:]})
    assert p.returncode == 4
    assert p.stdout == ""
    assert re.match(r"gpuctl: DescribeRegions failed: SignatureDoesNotMatch: "
                    r".+ \(request ID [0-9a-f-]+\)\n", p.stderr), p.stderr


def test_aws_error_exit_4(sim):
    p = gpuctl(sim, "api", "DescribeInstances", "InstanceId.1=i-nope")
    assert p.returncode == 4
    assert "gpuctl: DescribeInstances failed: InvalidInstanceID.Malformed: " \
        in p.stderr
    assert "(request ID " in p.stderr
    p = gpuctl(sim, "api", "NoSuchAction")
    assert p.returncode == 4
    assert "InvalidAction" in p.stderr


def test_debug_shows_traffic_without_secrets(sim):
    env = dict(sim.env, AWS_ACCESS_KEY_ID=TEMP_KEY,
               AWS_SECRET_ACCESS_KEY=TEMP_SECRET, AWS_SESSION_TOKEN=TEMP_TOKEN)
    for flags in (["--debug"], ["--debug", "--debug"]):
        p = gpuctl(sim, *flags, "api", "DescribeRegions", env=env)
        assert p.returncode == 0, p.stderr
        err = p.stderr
        assert "POST / HTTP/1.1" in err          # the request is shown
        assert "<regionName>" in err             # and the response
        assert "Signature=[REDACTED]" in err     # redaction ran
        assert "X-Amz-Security-Token: [REDACTED]" in err
        for secret in (TEMP_SECRET, TEMP_TOKEN, "TOKEN-EXAMPLE%2F",
                       "TOKEN-EXAMPLE"):
            assert secret not in err and secret not in p.stdout
        assert not re.search(r"Signature=[0-9a-f]", err)
    # at the second level the canonical request is shown, redacted too
    assert "canonical request: POST" in err
    assert "x-amz-security-token:[REDACTED]" in err


def test_retries_throttling_and_5xx(sim_factory):
    s = sim_factory(faults="throttle@DescribeRegions=2,503@DescribeRegions=1",
                    seed=3)
    ok(gpuctl(s, "api", "DescribeRegions"))
    stats = s.stats()
    # three answers were faults; the fourth attempt reached the action
    assert stats["faults"].get("throttle") == 2, stats
    assert stats["faults"].get("503") == 1, stats
    assert stats["requests"].get("DescribeRegions") == 1, stats


def test_retries_dropped_connections(sim_factory):
    s = sim_factory(faults="drop@DescribeAvailabilityZones=2", seed=4)
    root = ok(gpuctl(s, "api", "DescribeAvailabilityZones"))
    assert root.find(".//ec2:zoneName", NS) is not None
    assert s.stats()["faults"].get("drop") == 2


def test_retries_are_bounded(sim_factory):
    s = sim_factory(faults="500@DescribeRegions=50", seed=5)
    p = gpuctl(s, "api", "DescribeRegions")
    assert p.returncode == 4
    assert "DescribeRegions failed: InternalError" in p.stderr
    # eight attempts in all, then the last answer stands
    assert s.stats()["faults"].get("500") == 8


def test_missing_region_exit_3(sim):
    env = dict(sim.env)
    del env["AWS_REGION"], env["AWS_DEFAULT_REGION"]
    p = gpuctl(sim, "api", "DescribeRegions", env=env)
    assert p.returncode == 3
    assert "AWS_REGION" in p.stderr and "AWS_DEFAULT_REGION" in p.stderr
    assert "--region" in p.stderr
    ok(gpuctl(sim, "--region", "us-east-1", "api", "DescribeRegions", env=env))
    ok(gpuctl(sim, "api", "DescribeRegions", "--region=us-east-1", env=env))


def test_missing_credentials_exit_3(sim):
    env = dict(sim.env)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    p = gpuctl(sim, "api", "DescribeRegions", env=env)
    assert p.returncode == 3
    assert "AWS_ACCESS_KEY_ID" in p.stderr
    assert env["AWS_SHARED_CREDENTIALS_FILE"] in p.stderr


def test_profile_from_files(sim, tmp_path):
    cfg = tmp_path / "config"
    cred = tmp_path / "credentials"
    cfg.write_text(f"[profile sim]\nregion = us-east-1\nendpoint_url = {sim.url}\n")
    cred.write_text(f"[sim]\naws_access_key_id = AKIDEXAMPLE\n"
                    f"aws_secret_access_key = {SECRET_KEY}\n")
    cred.chmod(0o600)
    env = dict(sim.env, AWS_CONFIG_FILE=str(cfg),
               AWS_SHARED_CREDENTIALS_FILE=str(cred))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
              "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        del env[k]
    root = ok(gpuctl(sim, "--profile", "sim", "api", "DescribeAvailabilityZones",
                     env=env))
    zones = {z.text for z in root.iter("{%s}zoneName" % NS["ec2"])}
    assert zones and all(z.startswith("us-east-1") for z in zones)


def test_usage_errors_and_help(sim):
    assert gpuctl(sim, "api").returncode == 2
    assert gpuctl(sim, "api", "Describe-Regions").returncode == 2
    assert gpuctl(sim, "api", "DescribeRegions", "novalue").returncode == 2
    assert gpuctl(sim, "api", "DescribeRegions", "=x").returncode == 2
    assert gpuctl(sim, "--bogus", "api").returncode == 2
    assert gpuctl(sim, "nosuchcommand").returncode == 2
    assert gpuctl(sim, "--output", "yaml", "api", "X").returncode == 2
    p = gpuctl(sim, "--help")
    assert p.returncode == 0 and "api" in p.stdout and "--region" in p.stdout
    p = gpuctl(sim, "help", "api")
    assert p.returncode == 0 and "usage: gpuctl api" in p.stdout
    p = gpuctl(sim, "api", "--help")
    assert p.returncode == 0 and "usage: gpuctl api" in p.stdout
    p = gpuctl(sim, "--version")
    # the version, and the libssh2 in use
    assert p.returncode == 0 and re.fullmatch(
        r"gpuctl \d+\.\d+\.\d+ \(libssh2 \d+\.\d+\.\d+[^\n]*\)\n", p.stdout), p.stdout


def test_unreachable_endpoint(sim):
    p = gpuctl(sim, "--endpoint-url", "http://127.0.0.1:1", "api",
               "DescribeRegions")
    assert p.returncode == 1
    assert p.stderr.startswith("gpuctl: ")
    p = gpuctl(sim, "--endpoint-url", "ftp://127.0.0.1/", "api",
               "DescribeRegions")
    assert p.returncode == 3


def test_full_stdout_is_an_error(sim):
    with open("/dev/full", "w") as full:
        import subprocess
        from gpuctl_helpers import GPUCTL
        r = subprocess.run([GPUCTL, "api", "DescribeRegions"], env=sim.env,
                           stdout=full, stderr=subprocess.PIPE)
    assert r.returncode != 0
    assert b"write error" in r.stderr
