"""Temporary credentials renewed inside a long command (issue 16): a
`terminate --snapshot --wait` that outlives the role session.  The
simulator issues short sessions (/_sim/identity duration) and refuses a key
once its time is up, so a command that did not renew would fail."""
import subprocess
import time

import pytest

from creds_helpers import CredsHome, role
from test_creds_audit import forms
from gpuctl_helpers import GPUCTL

DEV = f"[profile dev]\nrole_arn = {role('dev')}\nsource_profile = base\n"


@pytest.fixture(scope="module")
def slow_sim(sim_factory):
    # snapshots take 6 s: longer than the 3 s sessions below
    return sim_factory(boot_delay=0.2, ssh_delay=0.2, seed=5,
                       extra_args=["--snapshot-delay", "6", "--stop-delay", "0.2"])


def launch(h, key):
    p = h.gpuctl("--profile", "dev", "launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
                 "--key", key, "--wait", "running", extra_env={"GPUCTL_CALLER_IP": "127.0.0.1"})
    assert p.returncode == 0, p.stderr
    return p.stdout.split()[-1]


def keys_since(h, n):
    """The temporary keys that signed EC2 requests after the first n records."""
    return {c["access_key"] for c in ec2_callers_all(h.callers()[n:])}


def ec2_callers_all(calls):
    return [c for c in calls if c["service"] == "ec2"]


def test_session_ends_during_terminate_snapshot_wait(slow_sim, tmp_path):
    h = CredsHome(slow_sim, tmp_path)
    h.write(DEV)
    slow_sim.admin("/_sim/identity", {"duration": 3})
    try:
        iid = launch(h, tmp_path.name[:20])
        n = len(h.callers())
        assumed = h.count("AssumeRole")
        p = h.gpuctl("--profile", "dev", "--debug", "--debug", "terminate", iid, "--snapshot",
                     "--yes", "--wait", timeout=120)
        assert p.returncode == 0, p.stderr[-3000:]
        calls = h.callers()[n:]
        # renewed in the middle: several sessions signed this one command
        assert h.count("AssumeRole") - assumed >= 3
        signers = {c["access_key"] for c in ec2_callers_all(calls)}
        assert len(signers) >= 3, signers
        assert all(c["arn"].split("/")[1] == "dev" for c in ec2_callers_all(calls))
        assert "credentials refreshed from assume-role profile" in p.stderr
        # and no key of any of those sessions in the most verbose output
        for c in slow_sim.admin("/_sim/issued-secrets")["credentials"]:
            for w in forms(c["secret_key"]) | forms(c["token"]):
                assert w not in p.stderr and w not in p.stdout
        st = slow_sim.state()["us-west-1"]
        assert st["instances"][iid]["state"] in ("shutting-down", "terminated")
        assert [s for s in st["snapshots"].values() if s["state"] == "completed"]
    finally:
        slow_sim.admin("/_sim/identity", {"duration": None})


def test_keys_refused_as_expired_are_renewed_once(slow_sim, tmp_path):
    """The service refuses the keys before gpuctl thought they would end
    (a clock off, a session revoked): the refusal itself renews them."""
    h = CredsHome(slow_sim, tmp_path)
    h.write(DEV)
    iid = launch(h, tmp_path.name[:20])
    n = len(h.callers())
    refused = slow_sim.stats()["requests"].get("_expired_keys", 0)
    assumed = h.count("AssumeRole")
    proc = subprocess.Popen([GPUCTL, "--profile", "dev", "terminate", iid, "--snapshot",
                             "--yes", "--wait"], env=h.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not [c for c in h.callers()[n:] if c["action"] == "CreateSnapshot"]:
            assert time.time() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        slow_sim.admin("/_sim/expire", {})
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert slow_sim.stats()["requests"].get("_expired_keys", 0) > refused
    assert h.count("AssumeRole") == assumed + 1
    assert len(keys_since(h, n)) == 2
