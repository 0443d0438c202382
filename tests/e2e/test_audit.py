"""Secrets and permissions audit: every command with --debug --debug under a
session token, under umask 000; no secret key, session token, request
signature (as the simulator verified it) or private key in any output, local
file, or the environment and argv of credential_process.  Files 0600, folders
0700; a credentials file others can read warns; a private key others can
read is refused as OpenSSH does."""
import os
import re
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from gpuctl_helpers import GPUCTL

ACCESS = "ASIATEMPEXAMPLE"
SECRET = "tempSecretKeyEXAMPLE0123456789abcdefABCD"
TOKEN = "TOKEN-EXAMPLE/+=session"
PRIVATE_RE = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


def umask0(env, *args, timeout=180):
    """gpuctl ARGS under `umask 000`; (rc, stdout, stderr) bytes."""
    p = subprocess.run(["sh", "-c", 'umask 000; exec "$@"', "sh", GPUCTL, *map(str, args)],
                       env=env, capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p


@pytest.fixture(scope="module")
def audit_sim(sim_factory):
    return sim_factory(boot_delay=0.2, ssh_delay=0.2, seed=3,
                       extra_args=["--snapshot-delay", "0.3", "--stop-delay", "0.2"])


def forbidden(signatures):
    words = [SECRET.encode(), TOKEN.encode(), quote(TOKEN, safe="").encode(),
             quote(TOKEN, safe="-_.~").encode(), TOKEN.replace("/", "%2F").encode()]
    words += [s.encode() for s in signatures]
    return words


def all_commands(env, tmp, key):
    """Every command once, in the order a user would: returns [(args, proc)]."""
    d = ["--debug", "--debug"]
    up = tmp / "up.txt"
    up.write_text("audit\n")
    runs = []

    def r(*args, ok=(0,)):
        p = umask0(env, *d, *args)
        runs.append((args, p))
        assert p.returncode in ok, (args, p.stderr.decode(errors="replace")[-2000:])
        return p

    iid = r("launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge", "--name",
            "audit", "--key", key, "--wait", "ssh").stdout.decode().split()[-1]
    r("list")
    r("list", "--all")
    r("show", iid)
    r("--output", "json", "show", iid)
    r("ssh", iid, "--", "echo", "hi")
    r("cp", up, f"{iid}:up.txt")
    r("cp", f"{iid}:up.txt", tmp / "down.txt")
    r("test", iid, ok=(0, 1))
    r("images", "vict0rsch*")
    r("rules", iid)
    r("doctor", iid, ok=(0, 1))
    r("ssh-config", iid)
    r("api", "DescribeRegions")
    r("stop", iid, "--wait")
    r("start", iid, "--wait")
    r("terminate", iid, "--snapshot", "--yes", "--wait")
    return runs


def files_under(*roots):
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            yield Path(dirpath), True
            for f in filenames:
                yield Path(dirpath, f), False


@pytest.mark.parametrize("source", ["env", "credential_process"])
def test_no_secret_anywhere(audit_sim, tmp_path, source):
    sim = audit_sim
    home = tmp_path / "home"
    home.mkdir()
    env = dict(sim.env, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_STATE_HOME=str(home / ".local" / "state"), GPUCTL_CALLER_IP="127.0.0.1")
    dumps = tmp_path / "child"
    dumps.mkdir()
    if source == "env":
        env.update(AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET,
                   AWS_SESSION_TOKEN=TOKEN)
    else:
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.pop(k)
        helper = tmp_path / "creds-helper"
        helper.write_text(
            "#!/usr/bin/python3\nimport json, os, sys, uuid\n"
            f"d = {str(dumps)!r}\n"
            "open(os.path.join(d, uuid.uuid4().hex), 'w').write(\n"
            "    repr(sys.argv) + '\\n' + '\\n'.join(f'{k}={v}' for k, v in os.environ.items()))\n"
            f"print(json.dumps({{'Version': 1, 'AccessKeyId': {ACCESS!r}, "
            f"'SecretAccessKey': {SECRET!r}, 'SessionToken': {TOKEN!r}}}))\n")
        helper.chmod(0o700)
        cfg = tmp_path / "aws-config"
        cfg.write_text(f"[default]\ncredential_process = {helper} --profile default\n")
        cfg.chmod(0o600)
        env["AWS_CONFIG_FILE"] = str(cfg)
    runs = all_commands(env, tmp_path, f"audit-{source}")
    sigs = sim.admin("/_sim/signatures")
    assert len(sigs) > 20
    words = forbidden(sigs)
    leaks = []
    for args, p in runs:
        for name, data in (("stdout", p.stdout), ("stderr", p.stderr)):
            leaks += [(args, name, w) for w in words if w in data]
            if PRIVATE_RE.search(data):
                leaks.append((args, name, "private key"))
    # the debug output really is the verbose one
    assert any(b"DescribeInstances" in p.stderr for _, p in runs)
    keyfiles = set()
    for path, is_dir in files_under(home, dumps):
        if is_dir:
            continue
        data = path.read_bytes()
        leaks += [(str(path), w) for w in words if w in data]
        if PRIVATE_RE.search(data):
            keyfiles.add(path)
    # the one place a private key may be: its own file
    kdir = home / ".config" / "gpuctl" / "keys" / "us-west-1"
    assert keyfiles and all(k.parent == kdir and k.suffix == ".pem" for k in keyfiles), keyfiles
    if source == "credential_process":
        assert list(dumps.iterdir()), "credential_process never ran"
    assert not leaks, leaks
    # modes, made under umask 000
    for path, is_dir in files_under(home / ".config" / "gpuctl", home / ".local" / "state" / "gpuctl"):
        mode = stat.S_IMODE(path.stat().st_mode)
        if is_dir:
            assert mode == 0o700, (path, oct(mode))
        else:
            assert mode == 0o600, (path, oct(mode))
    assert (home / ".config" / "gpuctl" / "known_hosts").exists()


def test_credentials_file_readable_by_others_warns(audit_sim, tmp_path):
    sim = audit_sim
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {ACCESS}\n"
                     f"aws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n")
    env = dict(sim.env, HOME=str(tmp_path), AWS_SHARED_CREDENTIALS_FILE=str(creds))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(k)
    creds.chmod(0o644)
    p = umask0(env, "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    err = p.stderr.decode()
    assert "readable by other users" in err and str(creds) in err and "chmod 600" in err
    assert SECRET not in err and TOKEN not in err
    creds.chmod(0o600)
    p = umask0(env, "api", "DescribeRegions")
    assert p.returncode == 0 and b"readable by other users" not in p.stderr


def test_private_key_readable_by_others_is_refused(audit_sim, tmp_path):
    sim = audit_sim
    home = tmp_path / "home"
    home.mkdir()
    env = dict(sim.env, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_STATE_HOME=str(home / ".local" / "state"), GPUCTL_CALLER_IP="127.0.0.1")
    p = umask0(env, "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
               "--name", "keymode", "--key", "keymode", "--wait", "ssh")
    assert p.returncode == 0, p.stderr
    iid = p.stdout.decode().split()[-1]
    key = next((home / ".config" / "gpuctl" / "keys" / "us-west-1").glob("*.pem"))
    copy = tmp_path / "id_copy"
    copy.write_bytes(key.read_bytes())
    for mode in (0o644, 0o640, 0o604):
        copy.chmod(mode)
        p = umask0(env, "ssh", iid, "-i", copy, "--", "echo", "hi")
        assert p.returncode == 255, p.stderr
        err = p.stderr.decode()
        assert "UNPROTECTED PRIVATE KEY FILE" in err and "too open" in err, err
        assert p.stdout == b""
        assert PRIVATE_RE.search(p.stderr) is None
    copy.chmod(0o600)
    p = umask0(env, "ssh", iid, "-i", copy, "--", "echo", "hi")
    assert p.returncode == 0 and p.stdout == b"hi\n", p.stderr
    # the managed key itself, opened up by mistake, is refused too
    key.chmod(0o644)
    p = umask0(env, "ssh", iid, "--", "echo", "hi")
    assert p.returncode == 255 and b"UNPROTECTED PRIVATE KEY FILE" in p.stderr
    key.chmod(0o600)
    umask0(env, "terminate", iid, "--yes")
