"""The key types a launch can create."""
from pathlib import Path
import stat

from gpuctl_helpers import gpuctl


def test_ed25519_default_logs_in(sim_factory):
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.2)
    env = dict(sim.env, GPUCTL_CALLER_IP="127.0.0.1")
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
               "--key", "k-ed", env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sim.state()["us-west-1"]["keys"]["k-ed"]["type"] == "ed25519"
    q = gpuctl(sim, "ssh", "--", "echo", "in", env=env)
    assert q.returncode == 0 and q.stdout == "in\n", q.stderr


def test_rsa_key_pair_and_its_limit(sim_factory):
    # libssh2 1.10 signs RSA logins with ssh-rsa (SHA-1); the simulator's
    # OpenSSH refuses that, as OpenSSH 8.8+ does: the failure is explained
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.2)
    env = dict(sim.env, GPUCTL_CALLER_IP="127.0.0.1")
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
               "--key", "k-rsa", "--key-type", "rsa", "--wait", "running",
               env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sim.state()["us-west-1"]["keys"]["k-rsa"]["type"] == "rsa"
    key = Path(env["XDG_CONFIG_HOME"], "gpuctl", "keys", "us-west-1",
               "k-rsa.pem")
    assert key.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    q = gpuctl(sim, "ssh", "--", "true", env=env)
    assert q.returncode == 255
    assert "ssh-rsa (SHA-1)" in q.stderr and "ed25519" in q.stderr
