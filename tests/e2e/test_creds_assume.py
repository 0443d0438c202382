"""Assume-role profiles (issue 16): source_profile chains, credential_source,
role_session_name / external_id / duration_seconds / mfa_serial, STS's
endpoint, and the AWS CLI's cache shared with the AWS CLI v2 in both
directions, its key byte for byte.  The simulator records which key signed
each request, so each test proves whose identity gpuctl used."""
import json
import os
import pty
import select
import signal
import termios
import time

import pytest

from creds_helpers import (ACCESS_KEY, CredsHome, botocore_role_key,
                           ec2_callers, mode, role)
from gpuctl_helpers import GPUCTL

DEV = f"[profile dev]\nrole_arn = {role('dev')}\nsource_profile = base\n"


def last_ec2(h):
    return ec2_callers(h.callers())[-1]


def test_assume_role_shares_the_cache_gpuctl_first(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(DEV)
    before = h.count("AssumeRole")
    p = h.gpuctl("--profile", "dev", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    mine = last_ec2(h)
    assert mine["access_key"].startswith("ASIA")
    assert mine["arn"].startswith("arn:aws:sts::123456789012:assumed-role/dev/")
    sts = [c for c in h.callers() if c["action"] == "AssumeRole"][-1]
    assert sts["service"] == "sts" and sts["access_key"] == ACCESS_KEY
    assert h.count("AssumeRole") == before + 1
    # the AWS CLI's file: its name, its shape, 0600
    files = h.cache_files()
    assert [f.stem for f in files] == [botocore_role_key(role("dev"))]
    assert mode(files[0]) == 0o600 and mode(h.cache_dir()) == 0o700
    entry = json.loads(files[0].read_text())
    assert entry["Credentials"]["AccessKeyId"] == mine["access_key"]
    assert set(entry["Credentials"]) == {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                         "Expiration"}
    # the AWS CLI uses gpuctl's session: no second AssumeRole
    a = h.aws("--profile", "dev", "ec2", "describe-regions")
    assert a.returncode == 0, a.stderr
    assert h.count("AssumeRole") == before + 1
    assert last_ec2(h)["access_key"] == mine["access_key"]
    # and gpuctl again: the cache once more
    p = h.gpuctl("--profile", "dev", "api", "DescribeRegions")
    assert p.returncode == 0 and h.count("AssumeRole") == before + 1


def test_assume_role_shares_the_cache_aws_cli_first(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(DEV)
    before = h.count("AssumeRole")
    a = h.aws("--profile", "dev", "ec2", "describe-regions")
    assert a.returncode == 0, a.stderr
    theirs = last_ec2(h)
    assert h.count("AssumeRole") == before + 1
    p = h.gpuctl("--profile", "dev", "--debug", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    assert h.count("AssumeRole") == before + 1
    assert last_ec2(h)["access_key"] == theirs["access_key"]
    assert "from the AWS CLI's cache" in p.stderr


def test_cache_key_byte_for_byte(sim, tmp_path):
    """Every argument that goes into botocore's hash, with characters
    json.dumps escapes (quotes, backslash, non-ASCII, beyond the BMP)."""
    h = CredsHome(sim, tmp_path)
    ext = 'Ext-ü€😀"\\/:x'
    h.write(f"[profile keys]\nrole_arn = {role('keys')}\nsource_profile = base\n"
            f"role_session_name = s.name@x\nexternal_id = {ext}\n"
            f"duration_seconds = 1800\n")
    p = h.gpuctl("--profile", "keys", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    want = botocore_role_key(role("keys"), RoleSessionName="s.name@x", ExternalId=ext,
                             DurationSeconds=1800)
    assert [f.stem for f in h.cache_files()] == [want]
    issued = [r for r in h.sim.admin("/_sim/issued") if r["access_key"] ==
              last_ec2(h)["access_key"]][0]
    assert issued["external_id"] == ext
    assert issued["session_name"] == "s.name@x"
    assert 1790 <= issued["expires"] - issued["issued"] <= 1800
    before = h.count("AssumeRole")
    a = h.aws("--profile", "keys", "ec2", "describe-regions")
    assert a.returncode == 0, a.stderr
    assert h.count("AssumeRole") == before


def test_expiring_cache_entry_is_not_used(sim, tmp_path):
    """An entry with less than 15 minutes left is renewed, as botocore does."""
    h = CredsHome(sim, tmp_path)
    h.write(DEV)
    assert h.gpuctl("--profile", "dev", "api", "DescribeRegions").returncode == 0
    f = h.cache_files()[0]
    entry = json.loads(f.read_text())
    entry["Credentials"]["Expiration"] = time.strftime(
        "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 600))
    f.write_text(json.dumps(entry))
    before = h.count("AssumeRole")
    assert h.gpuctl("--profile", "dev", "api", "DescribeRegions").returncode == 0
    assert h.count("AssumeRole") == before + 1
    fresh = json.loads(f.read_text())["Credentials"]
    assert fresh["AccessKeyId"] != entry["Credentials"]["AccessKeyId"]


def test_chain_of_roles(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(f"[profile top]\nrole_arn = {role('top')}\nsource_profile = middle\n"
            f"[profile middle]\nrole_arn = {role('middle')}\nsource_profile = base\n")
    p = h.gpuctl("--profile", "top", "doctor")
    assert p.returncode == 0, p.stdout + p.stderr
    calls = h.callers()
    ar = [c for c in calls if c["action"] == "AssumeRole"][-2:]
    assert ar[0]["access_key"] == ACCESS_KEY  # base assumes middle
    assert "assumed-role/middle/" in ar[1]["arn"]  # middle assumes top
    ec2 = ec2_callers(calls, "DescribeAccountAttributes")[-1]
    assert "assumed-role/top/" in ec2["arn"]
    assert 'assume-role profile "top"' in p.stdout and 'profile "middle"' in p.stdout
    assert "temporary until" in p.stdout
    # the AWS CLI reaches the same identity
    a = h.aws("--profile", "top", "ec2", "describe-regions")
    assert a.returncode == 0, a.stderr
    assert last_ec2(h)["arn"].split("/")[:2] == ec2["arn"].split("/")[:2]


def test_source_profile_loop_names_the_profiles(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(f"[profile a]\nrole_arn = {role('a')}\nsource_profile = b\n"
            f"[profile b]\nrole_arn = {role('b')}\nsource_profile = c\n"
            f"[profile c]\nrole_arn = {role('c')}\nsource_profile = a\n")
    before = h.count("AssumeRole")
    p = h.gpuctl("--profile", "a", "api", "DescribeRegions")
    assert p.returncode == 3
    assert 'loop: "a" -> "b" -> "c" -> "a"' in p.stderr, p.stderr
    assert h.count("AssumeRole") == before


def test_profile_naming_itself_uses_its_own_keys(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(f"[profile self]\nrole_arn = {role('self')}\nsource_profile = self\n"
            f"aws_access_key_id = {ACCESS_KEY}\n"
            f"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n", "")
    p = h.gpuctl("--profile", "self", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    assert "assumed-role/self/" in last_ec2(h)["arn"]


@pytest.mark.parametrize("config, words", [
    (f"[profile x]\nrole_arn = {role('x')}\n", "neither source_profile nor credential_source"),
    (f"[profile x]\nrole_arn = {role('x')}\nsource_profile = base\n"
     "credential_source = Environment\n", "both source_profile and credential_source"),
    (f"[profile x]\nrole_arn = {role('x')}\nsource_profile = nowhere\n",
     'source_profile "nowhere" of profile "x" does not exist'),
    (f"[profile x]\nrole_arn = {role('x')}\ncredential_source = Laptop\n",
     'credential_source "Laptop" of profile "x" is not valid'),
    (f"[profile x]\nrole_arn = {role('x')}\nsource_profile = empty\n[profile empty]\n"
     "region = us-west-1\n", 'source profile "empty" of profile "x" has no credentials'),
    (f"[profile x]\nrole_arn = {role('x')}\nsource_profile = base\nduration_seconds = 1h\n",
     "duration_seconds"),
])
def test_bad_role_profiles(sim, tmp_path, config, words):
    h = CredsHome(sim, tmp_path)
    h.write(config)
    p = h.gpuctl("--profile", "x", "api", "DescribeRegions")
    assert p.returncode == 3, p.stderr
    assert words in p.stderr


def test_credential_source_environment(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(f"[profile envrole]\nrole_arn = {role('envrole')}\n"
            "credential_source = environment\n", "")
    keys = {"AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
    # --profile skips the environment as a source of its own, not as a role's source
    p = h.gpuctl("--profile", "envrole", "api", "DescribeRegions", extra_env=keys)
    assert p.returncode == 0, p.stderr
    assert "assumed-role/envrole/" in last_ec2(h)["arn"]
    p = h.gpuctl("--profile", "envrole", "api", "DescribeRegions")
    assert p.returncode == 0  # from the cache now
    (h.cache_dir() / (botocore_role_key(role("envrole")) + ".json")).unlink()
    p = h.gpuctl("--profile", "envrole", "api", "DescribeRegions")
    assert p.returncode == 3 and "credential_source" in p.stderr


def test_credential_source_container_and_imds(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(f"[profile ecs]\nrole_arn = {role('fromecs')}\ncredential_source = EcsContainer\n"
            f"[profile ec2]\nrole_arn = {role('fromec2')}\n"
            "credential_source = Ec2InstanceMetadata\n", "")
    token = sim.admin("/_sim/identity")["container_token"]
    p = h.gpuctl("--profile", "ecs", "api", "DescribeRegions", extra_env={
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": sim.url + "/v2/credentials/task",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": token})
    assert p.returncode == 0, p.stderr
    ar = [c for c in h.callers() if c["action"] == "AssumeRole"][-1]
    assert ar["via"] == "container" and "assumed-role/fromecs/" in last_ec2(h)["arn"]
    p = h.gpuctl("--profile", "ec2", "api", "DescribeRegions", unset=["AWS_EC2_METADATA_DISABLED"],
                 extra_env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": sim.url})
    assert p.returncode == 0, p.stderr
    ar = [c for c in h.callers() if c["action"] == "AssumeRole"][-1]
    assert ar["via"] == "imds" and "assumed-role/fromec2/" in last_ec2(h)["arn"]


def test_external_id_and_session_name(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(f"[profile ext]\nrole_arn = {role('ext-partner')}\nsource_profile = base\n"
            "external_id = EXTERNAL-ID-EXAMPLE\nrole_session_name = alice\n"
            f"[profile wrong]\nrole_arn = {role('ext-partner')}\nsource_profile = base\n"
            "external_id = guessed\n")
    p = h.gpuctl("--profile", "ext", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    assert last_ec2(h)["arn"] == "arn:aws:sts::123456789012:assumed-role/ext-partner/alice"
    p = h.gpuctl("--profile", "wrong", "api", "DescribeRegions")
    assert p.returncode == 4 and "AccessDenied" in p.stderr, p.stderr


def test_sts_endpoint_from_its_own_variable_and_services(sim, tmp_path):
    """STS's endpoint as the AWS CLI finds it: AWS_ENDPOINT_URL_STS, then the
    profile's services section; EC2 keeps its own."""
    h = CredsHome(sim, tmp_path)
    h.write(DEV)
    env = {"AWS_ENDPOINT_URL_EC2": sim.url, "AWS_ENDPOINT_URL_STS": sim.url}
    p = h.gpuctl("--profile", "dev", "--debug", "api", "DescribeRegions",
                 unset=["AWS_ENDPOINT_URL"], extra_env=env)
    assert p.returncode == 0, p.stderr
    assert f"STS AssumeRole at {sim.url} (AWS_ENDPOINT_URL_STS)" in p.stderr
    h2 = CredsHome(sim, tmp_path, "home2")
    h2.write(DEV + f"services = local\n[services local]\nsts =\n  endpoint_url = {sim.url}\n")
    p = h2.gpuctl("--profile", "dev", "--debug", "api", "DescribeRegions",
                  unset=["AWS_ENDPOINT_URL"], extra_env={"AWS_ENDPOINT_URL_EC2": sim.url})
    assert p.returncode == 0, p.stderr
    assert "(the services section of profile dev" in p.stderr


def _pty_run(args, env, answer, echo=None):
    """gpuctl ARGS with a terminal of its own; types answer at the prompt.
    Returns (rc, what the terminal showed); echo (a list) gets whether the
    terminal echoes once gpuctl is gone."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(GPUCTL, [GPUCTL, *args], env)
    seen, deadline, typed = b"", time.time() + 60, False
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not typed and b"Enter MFA code for" in seen:
            os.write(fd, answer.encode() + b"\n")
            typed = True
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if echo is not None:
        echo.append(bool(termios.tcgetattr(fd)[3] & termios.ECHO))
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_mfa_code_asked_on_the_terminal(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    serial = "arn:aws:iam::123456789012:mfa/alice"
    h.write(f"[profile mfa]\nrole_arn = {role('mfa-admin')}\nsource_profile = base\n"
            f"mfa_serial = {serial}\n")
    # no terminal: a clear error, exit 3
    p = h.gpuctl("--profile", "mfa", "api", "DescribeRegions")
    assert p.returncode == 3
    assert "needs an MFA code" in p.stderr and "no terminal" in p.stderr, p.stderr
    # a terminal: asked, not echoed, accepted
    rc, shown = _pty_run(["--profile", "mfa", "api", "DescribeRegions"], h.env, "314159")
    assert rc == 0, shown
    assert f"Enter MFA code for {serial}: " in shown
    assert "314159" not in shown
    assert "assumed-role/mfa-admin/" in last_ec2(h)["arn"]
    issued = [r for r in sim.admin("/_sim/issued") if r.get("role_arn") == role("mfa-admin")]
    assert issued[-1]["mfa"] == serial
    # the session is cached (its key holds the serial): no second prompt
    p = h.gpuctl("--profile", "mfa", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    assert h.cache_files()[0].stem == botocore_role_key(role("mfa-admin"), SerialNumber=serial)
    # a wrong code is STS's refusal
    h.cache_files()[0].unlink()
    rc, shown = _pty_run(["--profile", "mfa", "api", "DescribeRegions"], h.env, "000000")
    assert rc == 4 and "AccessDenied" in shown, shown
    # Ctrl-C at the prompt: gone by SIGINT, the terminal echoes again
    echo = []
    rc, shown = _pty_run(["--profile", "mfa", "api", "DescribeRegions"], h.env, "\x03",
                         echo=echo)
    assert rc == -signal.SIGINT, shown
    assert echo == [True]
