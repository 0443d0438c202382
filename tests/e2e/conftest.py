"""Shared pytest fixtures: start/stop the EC2 simulator (tests/sim/ec2sim), drive it
with the AWS CLI v2, and make sure nothing it started is left behind.

Fixture API (see tests/sim/README.md):
  REPO, SIM, SHARED                  paths (module constants)
  sim_factory -> start(**opts) -> Sim   opts: boot_delay, ssh_delay, vcpu_limit,
                                     faults, seed, state_dir, port, extra_args (list)
  Sim: .url .port .state_dir .env .proc .admin(path, body=None) .state() .stats()
       .set_faults(spec) .stop()
  sim      one fast simulator per test module (boot_delay 0.5, ssh_delay 0.3)
  aws      aws(*args, region=None, sim=None, check=True) -> parsed JSON (or None)
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIM = REPO / "tests" / "sim" / "ec2sim"
SHARED = REPO.parent / "shared"
PYTHON = "/usr/bin/python3"
AWS = "/usr/bin/aws"
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

_ALL_SIMS = []


class Sim:
    """A running simulator process."""

    def __init__(self, opts, tmp):
        self.tmp = Path(tempfile.mkdtemp(prefix="sim-", dir=tmp))
        self.state_dir = Path(opts.pop("state_dir", None) or self.tmp / "state")
        args = [PYTHON, str(SIM), "--port", str(opts.pop("port", 0)),
                "--state-dir", str(self.state_dir)]
        for name in ("boot_delay", "ssh_delay", "vcpu_limit", "faults", "seed"):
            if opts.get(name) is not None:
                args += ["--" + name.replace("_", "-"), str(opts.pop(name))]
            opts.pop(name, None)
        args += [str(a) for a in opts.pop("extra_args", [])]
        if opts:
            raise TypeError(f"unknown simulator options: {sorted(opts)}")
        self.log = open(self.tmp / "sim.log", "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log,
                                     start_new_session=True)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"simulator did not start: {line!r}\n" + self.read_log())
        self.url = line.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        home = self.tmp / "home"
        home.mkdir()
        self.env = {
            "PATH": CLEAN_PATH,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-west-1",
            "AWS_DEFAULT_REGION": "us-west-1",
            "AWS_ENDPOINT_URL": self.url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(self.tmp / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.tmp / "no-aws-credentials"),
            "AWS_PAGER": "",
            "LANG": "C.UTF-8",
        }

    def read_log(self):
        try:
            return (self.tmp / "sim.log").read_text(errors="replace")
        except OSError:
            return ""

    def admin(self, path, body=None):
        """GET (body None) or POST (str/bytes/dict body) to an /_sim/ endpoint; JSON or text."""
        data = None
        if body is not None:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else (
                body.encode() if isinstance(body, str) else body)
        req = urllib.request.Request(self.url + path, data=data,
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
        try:
            return json.loads(text)
        except ValueError:
            return text

    def state(self):
        return self.admin("/_sim/state")

    def stats(self):
        return self.admin("/_sim/stats")

    def set_faults(self, spec):
        return self.admin("/_sim/faults", spec)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def _sim_tmp():
    d = tempfile.mkdtemp(prefix="ec2sim-e2e-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def sim_factory(_sim_tmp):
    started = []

    def start(**opts):
        s = Sim(dict(opts), _sim_tmp)
        started.append(s)
        _ALL_SIMS.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def sim(sim_factory):
    return sim_factory(boot_delay=0.5, ssh_delay=0.3, seed=1)


def run_aws(sim, *args, region=None, check=True, timeout=120):
    env = dict(sim.env)
    cmd = [AWS, "--endpoint-url", sim.url, "--region", region or env["AWS_REGION"],
           "--output", "json", "ec2", *[str(a) for a in args]]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    if not check:
        return p
    return json.loads(p.stdout) if p.stdout.strip() else None


@pytest.fixture
def aws(sim):
    """aws('describe-images', '--owners', 'amazon') -> dict; sim=/region= to override;
    check=False returns the CompletedProcess instead."""
    def call(*args, region=None, sim=sim, check=True, timeout=120):
        return run_aws(sim, *args, region=region, check=check, timeout=timeout)
    return call


def _leftovers(sims):
    """Processes of this session's simulators still alive: the simulators themselves and
    anything whose command line names one of their state dirs (their sshd)."""
    pids = {s.proc.pid for s in sims}
    dirs = [str(s.state_dir) + "/" for s in sims]
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True).stdout
    bad = []
    for line in out.splitlines():
        pid, stat, args = (line.strip().split(None, 2) + ["", ""])[:3]
        if int(pid) == os.getpid() or stat.startswith("Z"):
            continue
        if int(pid) in pids or any(d in args for d in dirs):
            bad.append(line)
    return bad


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_processes():
    yield
    for s in _ALL_SIMS:
        s.stop()
    deadline = time.time() + 5
    while (bad := _leftovers(_ALL_SIMS)) and time.time() < deadline:
        time.sleep(0.2)
    assert not bad, "processes left behind:\n" + "\n".join(bad)
