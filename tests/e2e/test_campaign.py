"""The seeded fault campaign (tests/e2e/campaign.py): complete workflows under
every fault the simulator has, with interruptions, one of them under an
assumed role whose sessions expire midway; `make check` runs a short
one, `make campaign N=500` a long one (GPUCTL_CAMPAIGN_N, _SEED, _WORKERS,
and GPUCTL_CAMPAIGN_JSON to write the figures to a file)."""
import json
import os

from campaign import run_campaign

N = int(os.environ.get("GPUCTL_CAMPAIGN_N", "50"))
SEED = int(os.environ.get("GPUCTL_CAMPAIGN_SEED", "1000"))
WORKERS = int(os.environ.get("GPUCTL_CAMPAIGN_WORKERS", "5"))


def test_fault_campaign(sim_factory, tmp_path, capsys):
    sims = [sim_factory(boot_delay=0.2, ssh_delay=0.2, seed=SEED + k,
                        extra_args=["--stop-delay", "0.2", "--snapshot-delay", "0.3"])
            for k in range(min(WORKERS, N))]
    figs = run_campaign(sims, range(SEED, SEED + N), tmp_path)
    with capsys.disabled():
        print("\n" + figs.report())
    if os.environ.get("GPUCTL_CAMPAIGN_JSON"):
        with open(os.environ["GPUCTL_CAMPAIGN_JSON"], "w") as f:
            json.dump(figs.as_dict(), f, indent=1)
    assert figs.workflows == N
    assert figs.failures() == 0, figs.report()
    # one workflow ran under an assumed role whose sessions ended midway
    assert figs.assumed_role == 1 and figs.renewed >= 1, figs.report()
    # every fault kind was injected (the long run asks for 50 of each)
    need = 1 if N < 200 else 50
    short = {k: v for k, v in figs.kinds().items() if v < need}
    if N >= 40:
        assert not short, f"fault kinds injected too rarely: {short}"


def test_killed_between_key_pair_and_its_file(sim_factory, tmp_path):
    """The campaign's find: a launch killed after CreateKeyPair committed but
    before the private key was saved left a key pair no later launch could
    use.  Now the next launch knows it for its own and makes it again."""
    import signal
    import subprocess
    import time

    from gpuctl_helpers import GPUCTL, gpuctl

    sim = sim_factory(boot_delay=0.2, ssh_delay=0.2,
                      faults="commit-drop@CreateKeyPair=1,slow@CreateKeyPair=2:1.5")
    env = dict(sim.env, GPUCTL_CALLER_IP="127.0.0.1")
    args = ["launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
            "--key", "killed", "--wait", "ssh"]
    p = subprocess.Popen([GPUCTL, *args], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while "killed" not in sim.state()["us-west-1"]["keys"] and time.time() < deadline:
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=30)
    assert "killed" in sim.state()["us-west-1"]["keys"]
    q = gpuctl(sim, "--debug", *args, env=env, timeout=120)
    assert q.returncode == 0, q.stderr
    assert "made by an interrupted launch" in q.stderr
    r = gpuctl(sim, "ssh", q.stdout.strip(), "--", "echo", "ok", env=env)
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr
    conf = sim.env["XDG_CONFIG_HOME"]
    import os
    assert not [f for f in os.listdir(f"{conf}/gpuctl/keys/us-west-1") if f.endswith(".creating")]
