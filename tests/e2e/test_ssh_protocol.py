"""What gpuctl's SSH transport negotiates with the simulator's OpenSSH 9.2,
read from that sshd's own debug log: strict key exchange (the Terrapin fix,
CVE-2023-48795) and the ciphers in gpuctl's order of preference:
aes256-gcm@openssh.com, chacha20-poly1305@openssh.com, then AES-CTR with an
encrypt-then-MAC MAC."""
import re

import pytest

from gpuctl_helpers import gpuctl

LAUNCH = ("launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge")
DEBUG = {"LogLevel": "DEBUG2"}
KEX_RE = re.compile(r"^debug1: kex: (client->server|server->client) cipher: "
                    r"(\S+) MAC: (\S+) compression: (\S+)", re.M)


def modern_libssh2():
    v = gpuctl(None, "--version").stdout
    assert "libssh2 " in v, v
    return "no strict key exchange" not in v


@pytest.fixture(scope="module")
def psim(sim_factory):
    sim = sim_factory(boot_delay=0.2, ssh_delay=0.2)
    return sim, dict(sim.env, GPUCTL_CALLER_IP="127.0.0.1")


def launch_with(psim, options):
    """Launches an instance whose sshd has these sshd_config options and
    logs in to it once more; returns that sshd's log."""
    sim, env = psim
    sim.admin("/_sim/config", {"sshd_options": dict(DEBUG, **options)})
    p = gpuctl(sim, *LAUNCH, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    iid = p.stdout.split()[0]
    q = gpuctl(sim, "ssh", iid, "--", "echo", "in", env=env)
    assert q.returncode == 0 and q.stdout == "in\n", q.stderr
    return (sim.state_dir / "us-west-1" / "instances" / iid /
            "sshd.log").read_text(errors="replace")


def kexes(log):
    """[(direction, cipher, MAC)] of every key exchange in the log."""
    found = [m[:3] for m in KEX_RE.findall(log)]
    # launch's login and ssh's, both directions each
    assert len(found) >= 4, log[-2000:]
    return found


def test_strict_kex_and_aes256_gcm(psim):
    log = launch_with(psim, {})
    # the client's KEXINIT, as sshd received it
    peer = log.split("peer client KEXINIT proposal", 1)[1]
    kex_algs = re.search(r"KEX algorithms: (\S+)", peer).group(1).split(",")
    logins = log.count("Accepted publickey for ")
    assert logins >= 2
    if not modern_libssh2():
        # what --version owns up to: no strict key exchange
        assert "kex-strict-c-v00@openssh.com" not in kex_algs
        assert "resetting send seqnr" not in log
        return
    assert "kex-strict-c-v00@openssh.com" in kex_algs
    # strict KEX on both ends: sshd resets its sequence numbers after NEWKEYS,
    # each way, on every connection
    assert len(re.findall(r"resetting send seqnr \d+", log)) == logins
    assert len(re.findall(r"resetting read seqnr \d+", log)) == logins
    assert "strict KEX violation" not in log
    for d, cipher, mac in kexes(log):
        assert (cipher, mac) == ("aes256-gcm@openssh.com", "<implicit>"), d


def test_chacha20_then_ctr_with_etm(psim):
    if not modern_libssh2():
        pytest.skip("libssh2 older than 1.11.1 has neither ChaCha20 nor ETM")
    log = launch_with(psim, {"Ciphers": "aes128-ctr,aes256-ctr,"
                             "chacha20-poly1305@openssh.com"})
    assert {k[1:] for k in kexes(log)} == {
        ("chacha20-poly1305@openssh.com", "<implicit>")}
    log = launch_with(psim, {"Ciphers": "aes128-ctr,aes256-ctr",
                             "MACs": "hmac-sha2-512,hmac-sha2-256,"
                             "hmac-sha2-512-etm@openssh.com,"
                             "hmac-sha2-256-etm@openssh.com"})
    assert {k[1:] for k in kexes(log)} == {
        ("aes256-ctr", "hmac-sha2-256-etm@openssh.com")}
    assert len(re.findall(r"resetting send seqnr \d+", log)) >= 2
