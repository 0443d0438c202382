"""The key types a launch can create, and RSA keys: EC2's default type and
most users' existing .pem files.  With libssh2 1.11.1 an RSA login is signed
with rsa-sha2-512 (or -256), which the simulator's OpenSSH 9.2 accepts, as
every OpenSSH >= 8.8 does; a gpuctl built on an older libssh2 (make
LIBSSH2=system on Debian 12) signs with ssh-rsa (SHA-1), which they refuse,
and says so."""
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import run_aws
from gpuctl_helpers import gpuctl

LAUNCH = ("launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge")
# sshd's log names the signature algorithm of each login
SSHD_DEBUG = ["--sshd-option", "LogLevel=DEBUG2"]
AUTH_RE = re.compile(r"userauth_pubkey: authenticated 1 pkalg (\S+)")


def rsa_sha2():
    """Does this gpuctl's libssh2 sign RSA logins with SHA-2?"""
    v = gpuctl(None, "--version").stdout
    assert v.startswith("gpuctl ") and "libssh2 " in v, v
    return "no RSA logins" not in v


def sshd_log(sim, iid):
    return (sim.state_dir / "us-west-1" / "instances" / iid /
            "sshd.log").read_text(errors="replace")


def keygen(path):
    """A 3072-bit RSA key pair at path (private, the PKCS#1 PEM file EC2's
    console hands out) and path.pub."""
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-m", "PEM",
                    "-N", "", "-C", "", "-f", str(path)], check=True)
    return path


def test_ed25519_default_logs_in(sim_factory):
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.2)
    env = dict(sim.env, GPUCTL_CALLER_IP="127.0.0.1")
    p = gpuctl(sim, *LAUNCH, "--key", "k-ed", env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sim.state()["us-west-1"]["keys"]["k-ed"]["type"] == "ed25519"
    q = gpuctl(sim, "ssh", "--", "echo", "in", env=env)
    assert q.returncode == 0 and q.stdout == "in\n", q.stderr


@pytest.fixture(scope="module")
def rsa_sim(sim_factory):
    return sim_factory(boot_delay=0.2, ssh_delay=0.2, extra_args=SSHD_DEBUG)


def test_rsa_key_pair_logs_in(rsa_sim):
    sim = rsa_sim
    env = dict(sim.env, GPUCTL_CALLER_IP="127.0.0.1")
    modern = rsa_sha2()
    # launch waits for an SSH login (its default) only where one can work
    p = gpuctl(sim, *LAUNCH, "--key", "k-rsa", "--key-type", "rsa",
               *(() if modern else ("--wait", "running")), env=env,
               timeout=120)
    assert p.returncode == 0, p.stderr
    iid = p.stdout.split()[0]
    assert sim.state()["us-west-1"]["keys"]["k-rsa"]["type"] == "rsa"
    key = Path(env["XDG_CONFIG_HOME"], "gpuctl", "keys", "us-west-1",
               "k-rsa.pem")
    assert key.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    q = gpuctl(sim, "ssh", "--", "echo", "in", env=env)
    if not modern:
        assert q.returncode == 255
        assert "ssh-rsa (SHA-1)" in q.stderr and "ed25519" in q.stderr
        return
    assert q.returncode == 0 and q.stdout == "in\n", q.stderr
    # launch's login and this one, each signed with SHA-2
    algs = AUTH_RE.findall(sshd_log(sim, iid))
    assert len(algs) >= 2 and set(algs) <= {"rsa-sha2-512", "rsa-sha2-256"}, algs
    assert "ssh-rsa" not in algs


def test_own_rsa_pem_with_i(rsa_sim, tmp_path):
    """A user's RSA key made elsewhere, imported as the key pair: -i with
    its PEM file, and with the same key in OpenSSH's format, logs in."""
    sim = rsa_sim
    if not rsa_sha2():
        pytest.skip("this gpuctl's libssh2 signs RSA logins with SHA-1; "
                    "test_rsa_key_pair_logs_in checks what it says")
    env = dict(sim.env, GPUCTL_CALLER_IP="127.0.0.1")
    pem = keygen(tmp_path / "mine.pem")
    assert pem.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    run_aws(sim, "import-key-pair", "--key-name", "mine",
            "--public-key-material", f"fileb://{pem}.pub")
    # launch logs in with the key pair's private key at its usual place
    kdir = Path(env["XDG_CONFIG_HOME"], "gpuctl", "keys", "us-west-1")
    kdir.mkdir(parents=True, mode=0o700, exist_ok=True)
    shutil.copy(pem, kdir / "mine.pem")
    (kdir / "mine.pem").chmod(0o600)
    p = gpuctl(sim, *LAUNCH, "--name", "mine", "--key", "mine", env=env,
               timeout=120)
    assert p.returncode == 0, p.stderr
    iid = p.stdout.split()[0]
    openssh = tmp_path / "mine-openssh"
    shutil.copy(pem, openssh)
    openssh.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "", "-P", "", "-f",
                    str(openssh)], check=True)
    assert openssh.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-")
    before = len(AUTH_RE.findall(sshd_log(sim, iid)))
    for k in (pem, openssh):
        q = gpuctl(sim, "ssh", iid, "-i", k, "--", "echo", "in", env=env)
        assert q.returncode == 0 and q.stdout == "in\n", (k, q.stderr)
    algs = AUTH_RE.findall(sshd_log(sim, iid))[before:]
    assert len(algs) == 2 and set(algs) <= {"rsa-sha2-512", "rsa-sha2-256"}
    # another RSA key is refused, as a wrong key
    other = keygen(tmp_path / "other.pem")
    q = gpuctl(sim, "ssh", iid, "-i", other, "--", "true", env=env)
    assert q.returncode == 255 and "permission denied" in q.stderr.lower(), \
        q.stderr
