#!/usr/bin/python3
"""gpuctl's benchmarks: gpuctl against `aws ec2 ...` (AWS CLI v2) and OpenSSH
(ssh, scp, sftp), on one EC2 simulator (tests/sim/ec2sim), in one run.

Each benchmark runs every contender in turn, round after round, so that a noisy
moment of the machine hits them alike, and keeps every sample.  It prints the
figures as it goes, writes bench/results/results.json (all samples) and
bench/results/BENCHMARKS-table.md, and refreshes the generated part of
BENCHMARKS.md (between its `bench:begin` and `bench:end` markers).

No benchmark fails on a timing: a target missed is a line in the table.  The
exit status is 1 only when a command failed (a copy, a launch...), 2 on a usage
or setup error.

Needs root (the simulated instances are sshd processes on 127.0.0.N:22), the
AWS CLI v2 at /usr/bin/aws and OpenSSH.  `make bench` builds what it needs and
runs this.

usage: bench/run.py [--gpuctl PATH] [--sigv4-bench PATH] [--runs N] [--render]
                    [--only NAMES] [--skip NAMES] [--no-md] [--keep]
NAMES: sigv4, ssh, login, launch, cp, cpr, list (comma separated)
--render measures nothing: it rewrites the tables from the last results.json.
"""
import argparse
import glob
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIM = REPO / "tests" / "sim" / "ec2sim"
PYTHON = "/usr/bin/python3"
AWS = "/usr/bin/aws"
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-west-1"        # real instances (sshd)
LIST_REGION = "us-east-1"   # POST /_sim/populate's instances (no sshd)
AMI_NAME = "vict0rsch-1.0"
ITYPE = "g2.2xlarge"
USER = "ubuntu"
ALL = ["sigv4", "ssh", "login", "launch", "cp", "cpr", "list"]
BUDGET_S = 570              # `make bench` must end within 10 minutes
GIB = 1 << 30
BIG_MB = 1024               # the large file, MiB
NFILES, FILE_BYTES = 10000, 4096
LIST_SIZES = (1, 1000, 10000)
MANAGED = "gpuctl:managed"
LIST_STATES = "pending,running,stopping,stopped,shutting-down"

T0 = time.monotonic()
FAILURES = []


def log(msg=""):
    print(msg, flush=True)


def elapsed():
    return time.monotonic() - T0


# --------------------------------------------------------------------------
# Statistics

def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fmt_s(s, unit="s", prec=None):
    """'0.123 s (0.110–0.140)' for a summary of seconds."""
    if not s:
        return "n/a"
    if unit == "ms":
        k, p = 1000.0, 1 if prec is None else prec
    elif unit == "us":
        k, p = 1e6, 2 if prec is None else prec
    else:
        k, p = 1.0, 3 if prec is None else prec
    return f"{s['median'] * k:.{p}f} {unit} ({s['min'] * k:.{p}f}–{s['max'] * k:.{p}f})"


def fmt_v(s, unit, prec=1):
    if not s:
        return "n/a"
    return f"{s['median']:.{prec}f} {unit} ({s['min']:.{prec}f}–{s['max']:.{prec}f})"


def ratio(a, b):
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


# --------------------------------------------------------------------------
# Processes

class Result:
    def __init__(self, wall, rc, rss_kb, out, err):
        self.wall, self.rc, self.rss_kb, self.out, self.err = wall, rc, rss_kb, out, err

    @property
    def ok(self):
        return self.rc == 0


def run(cmd, env, timeout=120, stdout=None, stdin=None, shell=False, cwd=None, rss=False):
    """Runs cmd; wall seconds and exit status.  rss: also its peak RSS (KiB),
    through /usr/bin/time: a child forked from this (large) Python process
    would report this process's RSS as its own (ru_maxrss keeps the high
    water mark of the memory image that exec replaces).  stdout: None
    (captured to a temporary file, returned as text), a path, or
    subprocess.DEVNULL."""
    rss_f = None
    if rss:
        rss_f = tempfile.NamedTemporaryFile(prefix="rss-", delete=False)
        rss_f.close()
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_f.name] + list(cmd)
    tmp_out = None
    if stdout is None:
        tmp_out = tempfile.TemporaryFile()
        out_f = tmp_out
    elif isinstance(stdout, (str, Path)):
        out_f = open(stdout, "wb")
    else:
        out_f = stdout
    err_f = tempfile.TemporaryFile()
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=out_f, stderr=err_f, stdin=stdin or subprocess.DEVNULL,
                         shell=shell, cwd=cwd, start_new_session=True)
    killer = threading.Timer(timeout, lambda: _killpg(p.pid))
    killer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
    finally:
        killer.cancel()
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    out = ""
    if tmp_out:
        tmp_out.seek(0)
        out = tmp_out.read().decode(errors="replace")
        tmp_out.close()
    elif isinstance(stdout, (str, Path)):
        out_f.close()
    err_f.seek(0)
    err = err_f.read().decode(errors="replace")
    err_f.close()
    rss_kb = None
    if rss_f:
        try:
            rss_kb = int(open(rss_f.name).read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
        os.unlink(rss_f.name)
    return Result(wall, p.returncode, rss_kb, out, err)


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def check(res, what):
    """Notes a failed command (the run goes on); returns res.ok."""
    if not res.ok:
        msg = f"{what}: exit {res.rc}: {res.err.strip()[-400:]}"
        FAILURES.append(msg)
        log(f"  FAILED {msg}")
    return res.ok


def version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machine_info(gpuctl):
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1048576:.1f} GiB"
    except OSError:
        pass
    flags = set()
    try:
        flags = set(open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split())
    except (OSError, IndexError):
        pass
    try:
        import botocore
        boto = botocore.__version__
    except ImportError:
        boto = "?"
    pkg = lambda m: version(["pkg-config", "--modversion", m])  # noqa: E731
    gv = version([gpuctl, "--version"])
    # the libssh2 gpuctl uses, as it says (it may be linked in statically)
    m = re.search(r"\(libssh2 ([^,:)]+)", gv)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "cpu_flags": sorted(flags & {"aes", "sha_ni", "avx2", "avx512f"}),
        "memory": mem,
        "kernel": platform.release(),
        "os": version(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "gpuctl": gv,
        "aws": version([AWS, "--version"]),
        "botocore": boto,
        "openssh": version(["ssh", "-V"]),
        "libssh2": m.group(1) if m else pkg("libssh2"),
        "openssl": version(["openssl", "version"]),
        "libcurl": pkg("libcurl"),
        "libxml2": pkg("libxml-2.0"),
        "python": platform.python_version(),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }


# --------------------------------------------------------------------------
# The simulator

class Sim:
    def __init__(self, work):
        self.dir = work / "sim"
        self.dir.mkdir()
        self.log_f = open(work / "sim.log", "wb")
        self.proc = subprocess.Popen(
            [PYTHON, str(SIM), "--port", "0", "--state-dir", str(self.dir / "state"),
             "--boot-delay", "0.5", "--ssh-delay", "0.5", "--vcpu-limit", "100000"],
            stdout=subprocess.PIPE, stderr=self.log_f, start_new_session=True)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.url = line.split()[-1]

    def admin(self, path, body=None):
        data = None
        if body is not None:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body.encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def config(self, **kw):
        return self.admin("/_sim/config", kw)

    def instance(self, iid, region=REGION):
        return self.admin("/_sim/state")[region]["instances"].get(iid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _killpg(self.proc.pid)
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log_f.close()


# --------------------------------------------------------------------------
# The bench: a simulator, a home, the tools

class Bench:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.gpuctl = args.gpuctl
        self.runs = args.runs
        self.results = {}
        self.sim = None
        self.home = work / "home"
        self.home.mkdir()
        self.main = None  # the long-lived instance: id, ip

    # -- environment ------------------------------------------------------
    def env(self, region=REGION):
        return {
            "PATH": CLEAN_PATH, "HOME": str(self.home), "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": self.sim.url if self.sim else "",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
            "AWS_CONFIG_FILE": str(self.work / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.work / "no-aws-credentials"),
            # checkip.amazonaws.com is out of reach: say what our address is
            "GPUCTL_CALLER_IP": "127.0.0.1",
        }

    def aws(self, *args, region=REGION, timeout=120, stdout=None):
        cmd = [AWS, "--endpoint-url", self.sim.url, "--region", region, "ec2", *args]
        return run(cmd, self.env(region), timeout=timeout, stdout=stdout)

    def g(self, *args, region=REGION, timeout=120, stdout=None):
        return run([self.gpuctl, *args], self.env(region), timeout=timeout, stdout=stdout)

    @property
    def known_hosts(self):
        return self.home / ".config" / "gpuctl" / "known_hosts"

    def key(self):
        keys = glob.glob(str(self.home / ".config" / "gpuctl" / "keys" / REGION / "*.pem"))
        if not keys:
            raise RuntimeError("no gpuctl key pair yet")
        return keys[0]

    def ssh_opts(self, known_hosts=None, strict="yes"):
        return ["-i", self.key(), "-F", "/dev/null",
                "-o", f"UserKnownHostsFile={known_hosts or self.known_hosts}",
                "-o", f"StrictHostKeyChecking={strict}", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]

    def ssh(self, ip, command, timeout=120, **kw):
        return run(["ssh", *self.ssh_opts(), f"{USER}@{ip}", command], self.env(), timeout=timeout, **kw)

    def launch(self, name, wait="ssh", timeout=120):
        r = self.g("launch", "--ami", AMI_NAME, "--type", ITYPE, "--name", name, "--wait", wait,
                   timeout=timeout)
        if not check(r, f"gpuctl launch {name}"):
            return None, r
        return r.out.split()[0], r

    def terminate(self, iid):
        """Terminates iid and forgets its host key: the simulator gives its
        127.0.0.N to the next instance, with another key, and gpuctl refuses
        a changed key (real EC2 recycles public addresses too; see
        BENCHMARKS.md)."""
        if not iid:
            return
        inst = self.sim.instance(iid) or {}
        r = self.g("terminate", "--yes", iid, timeout=60)
        check(r, f"gpuctl terminate {iid}")
        if inst.get("ip") and self.known_hosts.exists():
            run(["ssh-keygen", "-R", inst["ip"], "-f", str(self.known_hosts)], self.env(), timeout=30)

    def host_key_line(self, iid):
        inst = self.sim.instance(iid)
        pub = (Path(inst["dir"]) / "ssh_host_ed25519_key.pub").read_text().split()
        return f"{inst['ip']} {pub[0]} {pub[1]}\n"

    def ensure_main(self):
        """The instance of the ssh and cp benchmarks, answering ssh."""
        if self.main:
            if self.ssh(self.main["ip"], "true", timeout=30).ok:
                return self.main
            log("  (the benchmark instance stopped answering ssh: launching another)")
            self.terminate(self.main["id"])
            self.main = None
        self.sim.config(boot_delay=0.5, ssh_delay=0.5)
        iid, _ = self.launch("bench-main")
        if not iid:
            raise RuntimeError("cannot launch the benchmark instance")
        self.main = {"id": iid, "ip": self.sim.instance(iid)["ip"]}
        return self.main

    def record(self, name, data):
        self.results[name] = data

    def left(self):
        return BUDGET_S - elapsed()

    # -- sigv4 ------------------------------------------------------------
    def bench_sigv4(self):
        log("\n== SigV4 signature, one core (gpuctl's signer vs botocore's SigV4Auth)")
        if not self.args.sigv4_bench or not os.access(self.args.sigv4_bench, os.X_OK):
            FAILURES.append("sigv4: the sigv4_bench binary is missing (make bench builds it)")
            return
        body = ("Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name"
                "&Filter.1.Value.1=pending&Filter.1.Value.2=running&Filter.1.Value.3=stopping"
                "&Filter.1.Value.4=stopped&Filter.1.Value.5=shutting-down&Filter.2.Name=tag-key"
                "&Filter.2.Value.1=gpuctl%3Amanaged&MaxResults=1000")
        rounds = max(self.runs, 9)
        # one core: both pinned to CPU 0 when taskset is there
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        r = run(pin + [self.args.sigv4_bench, "100000", str(rounds)], self.env(), timeout=120)
        if not check(r, "sigv4_bench"):
            return
        c = json.loads(r.out)
        r = run(pin + [PYTHON, "-c", BOTO_SIGN, body, "4000", str(rounds)], self.env(), timeout=180)
        if not check(r, "botocore SigV4Auth timing"):
            return
        boto = json.loads(r.out)
        bs = summary(boto["us_per_signature"])
        data = {"gpuctl": c, "botocore_us": bs, "botocore_samples_us": boto["us_per_signature"],
                "body_bytes": len(body)}
        self.record("sigv4", data)
        g = c["sign"]
        log(f"  gpuctl sigv4_sign()          {g['median_ns']:.0f} ns ({g['min_ns']:.0f}–{g['max_ns']:.0f})")
        ph = c["sign_payload_hash_given"]
        log(f"  ... payload hash given       {ph['median_ns']:.0f} ns ({ph['min_ns']:.0f}–{ph['max_ns']:.0f})")
        for k in ("floor_raw", "floor_evp"):
            f = c[k]
            log(f"  floor ({k[6:]:3})              {f['median_ns']:.0f} ns ({f['min_ns']:.0f}–{f['max_ns']:.0f})")
        log(f"  botocore SigV4Auth.add_auth  {fmt_v(bs, 'µs', 2)}")
        log(f"  gpuctl / floor(raw) per round: {c['sign_over_floor_raw']['median']:.2f}×, "
            f"botocore / gpuctl: {bs['median'] * 1000 / g['median_ns']:.0f}×")

    # -- ssh round trip -----------------------------------------------------
    def bench_ssh(self):
        log("\n== ssh round trip: connect, key exchange, auth, exec true")
        m = self.ensure_main()
        n = max(self.runs, 15)
        cmds = {
            "gpuctl": [self.gpuctl, "ssh", m["id"], "--", "true"],
            "openssh": ["ssh", *self.ssh_opts(), f"{USER}@{m['ip']}", "true"],
            # the same key exchange as gpuctl (libssh2 has no sntrup761)
            "openssh_curve25519": ["ssh", *self.ssh_opts(), "-o", "KexAlgorithms=curve25519-sha256",
                                   f"{USER}@{m['ip']}", "true"],
        }
        samples = {k: [] for k in cmds}
        for _ in range(2):  # warm caches, not counted
            for c in cmds.values():
                run(c, self.env(), timeout=30)
        for _ in range(n):
            for k, c in cmds.items():
                r = run(c, self.env(), timeout=30)
                if check(r, f"ssh round trip ({k})"):
                    samples[k].append(r.wall)
        s = {k: summary(v) for k, v in samples.items()}
        self.record("ssh", {"samples_s": samples, "summary": s, "commands": {k: " ".join(v) for k, v in cmds.items()}})
        for k in cmds:
            log(f"  {k:20} {fmt_s(s[k], 'ms')}")
        r = ratio(s["gpuctl"], s["openssh"])
        if r:
            log(f"  gpuctl / openssh = {r:.2f}")

    # -- first login after sshd starts ------------------------------------
    def bench_login(self):
        log("\n== first successful login after sshd starts listening (boot 0.5 s, ssh delay 1.5 s)")
        self.sim.config(boot_delay=0.5, ssh_delay=1.5)
        n = self.runs
        g_s, o_s, notes = [], [], []
        for k in range(n):
            if self.left() < 60:
                notes.append("stopped early: time budget")
                break
            # gpuctl: launch --wait ssh polls ssh from 'running' on
            iid, r = self.launch(f"bench-login-g{k}")
            t_ret = time.time()
            if iid:
                inst = self.sim.instance(iid)
                if inst.get("ssh_listening_at"):
                    g_s.append(t_ret - inst["ssh_listening_at"])
            self.terminate(iid)
            # OpenSSH: a retry loop started as soon as the instance runs
            iid, r = self.launch(f"bench-login-o{k}", wait="running")
            if not iid:
                continue
            inst = self.sim.instance(iid)
            kh = self.work / f"kh-login-{k}"
            kh.write_text(self.host_key_line(iid))
            loop = ("i=0; until ssh " + " ".join(_q(a) for a in self.ssh_opts(kh)) +
                    f" {USER}@{inst['ip']} true 2>/dev/null; do i=$((i+1)); "
                    "[ $i -gt 300 ] && exit 1; sleep 0.1; done")
            t_start = time.time()
            r = run(["sh", "-c", loop], self.env(), timeout=60)
            t_end = time.time()
            inst = self.sim.instance(iid)
            if check(r, "OpenSSH retry loop") and inst.get("ssh_listening_at"):
                if t_start > inst["ssh_listening_at"]:
                    notes.append(f"run {k}: the loop started after sshd")
                o_s.append(t_end - inst["ssh_listening_at"])
            self.terminate(iid)
        s = {"gpuctl": summary(g_s), "openssh_loop": summary(o_s)}
        self.record("login", {"samples_s": {"gpuctl": g_s, "openssh_loop": o_s}, "summary": s, "notes": notes,
                              "config": {"boot_delay": 0.5, "ssh_delay": 1.5}})
        log(f"  gpuctl launch --wait ssh      {fmt_s(s['gpuctl'], 'ms')}")
        log(f"  until ssh ..; sleep 0.1       {fmt_s(s['openssh_loop'], 'ms')}")
        r = ratio(s["gpuctl"], s["openssh_loop"])
        if r:
            log(f"  gpuctl / openssh loop = {r:.2f}")

    # -- launch -> first remote command ------------------------------------
    def bench_launch(self):
        boot, sshd = 3.0, 2.0
        log(f"\n== launch → first remote command (boot {boot:g} s, ssh delay {sshd:g} s)")
        self.sim.config(boot_delay=boot, ssh_delay=sshd)
        st = self.sim.admin("/_sim/state")[REGION]
        ami = st["images"][AMI_NAME]
        key = Path(self.key()).stem
        sg = [g for g, v in st["groups"].items() if v["name"] == "gpuctl-ssh"][0]
        n = self.runs
        g_total, g_accept, a_total, a_accept, a_parts = [], [], [], [], []
        for k in range(n):
            if self.left() < 45:
                break
            # gpuctl: launch (waits for ssh), then one command
            t0 = time.time()
            iid, r = self.launch(f"bench-launch-g{k}")
            t_launch = time.time()
            if iid:
                r = self.g("ssh", iid, "--", "true", timeout=60)
                t1 = time.time()
                if check(r, "gpuctl ssh -- true"):
                    g_total.append(t1 - t0)
                    inst = self.sim.instance(iid)
                    if inst.get("ssh_listening_at"):
                        g_accept.append(t_launch - inst["ssh_listening_at"])
            self.terminate(iid)
            if self.left() < 30:
                break
            # AWS CLI + OpenSSH, key pair and security group made beforehand
            t0 = time.time()
            r = self.aws("run-instances", "--image-id", ami, "--instance-type", ITYPE, "--key-name", key,
                         "--security-group-ids", sg, "--count", "1", "--query", "Instances[0].InstanceId",
                         "--output", "text")
            if not check(r, "aws ec2 run-instances"):
                continue
            iid = r.out.strip()
            t_run = time.time()
            r = self.aws("wait", "instance-running", "--instance-ids", iid, timeout=300)
            t_wait = time.time()
            check(r, "aws ec2 wait instance-running")
            r = self.aws("describe-instances", "--instance-ids", iid, "--query",
                         "Reservations[0].Instances[0].PublicIpAddress", "--output", "text")
            ip = r.out.strip()
            t_ip = time.time()
            kh = self.work / f"kh-launch-{k}"
            loop = ("i=0; until ssh " + " ".join(_q(a) for a in self.ssh_opts(kh, strict="accept-new")) +
                    f" {USER}@{ip} true 2>/dev/null; do i=$((i+1)); [ $i -gt 300 ] && exit 1; "
                    "sleep 0.1; done")
            r = run(["sh", "-c", loop], self.env(), timeout=60)
            t1 = time.time()
            if check(r, "ssh retry loop after aws ec2 wait"):
                a_total.append(t1 - t0)
                a_parts.append({"run_instances": t_run - t0, "wait": t_wait - t_run,
                                "describe": t_ip - t_wait, "ssh_loop": t1 - t_ip})
                inst = self.sim.instance(iid)
                if inst.get("ssh_listening_at"):
                    a_accept.append(t1 - inst["ssh_listening_at"])
            self.terminate(iid)
        self.sim.config(boot_delay=0.5, ssh_delay=0.5)
        beyond = boot + sshd
        s = {"gpuctl_total": summary(g_total), "aws_total": summary(a_total),
             "gpuctl_beyond": summary([x - beyond for x in g_total]),
             "aws_beyond": summary([x - beyond for x in a_total]),
             "gpuctl_accept_to_return": summary(g_accept), "aws_accept_to_ssh": summary(a_accept)}
        self.record("launch", {"config": {"boot_delay": boot, "ssh_delay": sshd},
                               "samples_s": {"gpuctl_total": g_total, "aws_total": a_total,
                                             "gpuctl_accept_to_return": g_accept,
                                             "aws_accept_to_ssh": a_accept},
                               "aws_parts": a_parts, "summary": s})
        log(f"  gpuctl launch + ssh -- true       total {fmt_s(s['gpuctl_total'])}, "
            f"beyond boot {fmt_s(s['gpuctl_beyond'])}")
        log(f"  aws run/wait/describe + ssh loop  total {fmt_s(s['aws_total'])}, "
            f"beyond boot {fmt_s(s['aws_beyond'])}")
        log(f"  sshd listening → launch --wait ssh returns   {fmt_s(s['gpuctl_accept_to_return'], 'ms')}")
        log(f"  sshd listening → aws+ssh sequence succeeds   {fmt_s(s['aws_accept_to_ssh'])}")

    # -- cp 1 GiB -----------------------------------------------------------
    def bench_cp(self):
        log(f"\n== cp of a {BIG_MB} MiB file, upload and download (gpuctl cp, scp, sftp -b)")
        free = shutil.disk_usage(self.work).free
        if free < 4 * BIG_MB * (1 << 20):
            FAILURES.append(f"cp: not enough free space in {self.work} ({free >> 20} MiB)")
            return
        m = self.ensure_main()
        big = self.work / "big.bin"
        with open(big, "wb") as f:
            block = os.urandom(64 << 20)
            for _ in range(BIG_MB // 64):
                f.write(block)
        down = self.work / "big.down"
        size = big.stat().st_size
        o = self.ssh_opts()
        tgt = f"{USER}@{m['ip']}"
        (self.work / "put.batch").write_text(f"put {big} big.bin\n")
        (self.work / "get.batch").write_text(f"get big.bin {down}\n")
        up = {"gpuctl": [self.gpuctl, "cp", str(big), f"{m['id']}:big.bin"],
              "scp": ["scp", "-q", *o, str(big), f"{tgt}:big.bin"],
              "sftp": ["sftp", "-q", *o, "-b", str(self.work / "put.batch"), tgt]}
        dn = {"gpuctl": [self.gpuctl, "cp", f"{m['id']}:big.bin", str(down)],
              "scp": ["scp", "-q", *o, f"{tgt}:big.bin", str(down)],
              "sftp": ["sftp", "-q", *o, "-b", str(self.work / "get.batch"), tgt]}
        samples = {f"{d}_{k}": [] for d in ("up", "down") for k in up}
        for k in range(self.runs):
            if self.left() < 40:
                break
            for d, cmds in (("up", up), ("down", dn)):
                for name, c in cmds.items():
                    if down.exists():
                        down.unlink()
                    r = run(c, self.env(), timeout=120)
                    if check(r, f"{d}load {BIG_MB} MiB with {name}"):
                        if d == "down" and down.stat().st_size != size:
                            FAILURES.append(f"download with {name}: wrong size")
                            continue
                        samples[f"{d}_{name}"].append(r.wall)
        # once: the bytes made it both ways
        if down.exists():
            if run(["cmp", "-s", str(big), str(down)], self.env(), timeout=60).rc != 0:
                FAILURES.append("cp: the downloaded file differs from the original")
        self.ssh(m["ip"], "rm -f big.bin")
        for p in (big, down):
            if p.exists():
                p.unlink()
        s = {k: summary(v) for k, v in samples.items()}
        mbps = {k: summary([size / x / 1e6 for x in v]) for k, v in samples.items()}
        self.record("cp", {"bytes": size, "samples_s": samples, "summary": s, "mb_per_s": mbps,
                           "commands": {f"{d}_{k}": " ".join(c) for d, cmds in (("up", up), ("down", dn))
                                        for k, c in cmds.items()}})
        for k in samples:
            log(f"  {k:12} {fmt_s(s[k])}  {fmt_v(mbps[k], 'MB/s', 0)}")

    # -- cp -r 10,000 small files --------------------------------------------
    def bench_cpr(self):
        log(f"\n== cp -r of {NFILES} files of {FILE_BYTES // 1024} KiB (gpuctl cp -r, scp -r, tar | ssh tar)")
        m = self.ensure_main()
        tree = self.work / "tree"
        tree.mkdir()
        for i in range(NFILES):
            with open(tree / f"f{i:05d}.bin", "wb") as f:
                f.write(os.urandom(FILE_BYTES))
        o = self.ssh_opts()
        qo = " ".join(_q(a) for a in o)
        tgt = f"{USER}@{m['ip']}"
        # the download source, made once
        r = run(["sh", "-c", f"tar -C {_q(tree)} -cf - . | ssh {qo} {tgt} "
                 "'rm -rf dl && mkdir dl && tar -C dl -xf -'"], self.env(), timeout=120)
        check(r, "making the download tree")
        dst = self.work / "dst"
        up = {"gpuctl": [self.gpuctl, "cp", "-r", str(tree), f"{m['id']}:up"],
              "scp": ["scp", "-q", "-r", *o, str(tree), f"{tgt}:up"],
              "tar_ssh": ["sh", "-c", f"tar -C {_q(tree)} -cf - . | ssh {qo} {tgt} 'mkdir up && tar -C up -xf -'"]}
        dn = {"gpuctl": [self.gpuctl, "cp", "-r", f"{m['id']}:dl", str(dst)],
              "scp": ["scp", "-q", "-r", *o, f"{tgt}:dl", str(dst)],
              "tar_ssh": ["sh", "-c", f"mkdir {_q(dst)} && ssh {qo} {tgt} 'tar -C dl -cf - .' | tar -C {_q(dst)} -xf -"]}
        dirs = [d for d in ("up", "down") if d in self.args.cpr_dirs.split(",")]
        samples = {f"{d}_{k}": [] for d in dirs for k in up}
        for k in range(self.runs):
            for d in dirs:
                for name, c in (up if d == "up" else dn).items():
                    if self.left() < 30:
                        break
                    if d == "up":
                        self.ssh(m["ip"], "rm -rf up")
                    else:
                        shutil.rmtree(dst, ignore_errors=True)
                    r = run(c, self.env(), timeout=180)
                    if check(r, f"{d}load of {NFILES} files with {name}"):
                        samples[f"{d}_{name}"].append(r.wall)
                        if k == 0:
                            if d == "up":
                                c2 = self.ssh(m["ip"], "find up -type f | wc -l")
                                got = int(c2.out.strip() or 0)
                            else:
                                got = sum(1 for _ in dst.rglob("*.bin"))
                            if got != NFILES:
                                FAILURES.append(f"cp -r {d} with {name}: {got} files, not {NFILES}")
        self.ssh(m["ip"], "rm -rf up dl")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.rmtree(tree, ignore_errors=True)
        s = {k: summary(v) for k, v in samples.items()}
        self.record("cpr", {"files": NFILES, "file_bytes": FILE_BYTES, "samples_s": samples, "summary": s,
                            "commands": {f"{d}_{k}": " ".join(c) for d, cmds in (("up", up), ("down", dn))
                                         for k, c in cmds.items()}})
        for k in samples:
            log(f"  {k:16} {fmt_s(s[k])}")

    # -- list -----------------------------------------------------------------
    def bench_list(self):
        log("\n== list: gpuctl list vs aws ec2 describe-instances (same filters), wall and peak RSS")
        env = self.env(LIST_REGION)
        g_cmd = [self.gpuctl, "list"]
        a_cmd = [AWS, "--endpoint-url", self.sim.url, "--region", LIST_REGION, "--output", "json", "ec2",
                 "describe-instances", "--filters", f"Name=tag-key,Values={MANAGED}",
                 f"Name=instance-state-name,Values={LIST_STATES}"]
        have = 0
        out = {}
        for n in LIST_SIZES:
            if self.left() < 20 + n / 250:
                log(f"  skipping {n}: time budget")
                break
            r = self.sim.admin("/_sim/populate", {"region": LIST_REGION, "count": n - have,
                                                  "tags": {MANAGED: "true"}, "name_prefix": "bench"})
            have = r["populated"]
            gs, gr, as_, ar, raw = [], [], [], [], []
            for k in range(self.runs):
                of = self.work / "list.out"
                # wall time without /usr/bin/time in between (a few ms, a
                # third of gpuctl's time at 1 instance), then the RSS
                r = run(g_cmd, env, timeout=120, stdout=of)
                if check(r, f"gpuctl list ({n})"):
                    gs.append(r.wall)
                    if k == 0:
                        lines = sum(1 for _ in open(of, "rb"))
                        if lines != n:
                            FAILURES.append(f"gpuctl list printed {lines} lines for {n} instances")
                r = run(g_cmd, env, timeout=120, stdout=of, rss=True)
                if check(r, f"gpuctl list ({n}), RSS run"):
                    gr.append(r.rss_kb / 1024)
                # the AWS CLI's half a second dwarfs /usr/bin/time's cost
                r = run(a_cmd, env, timeout=300, stdout=of, rss=True)
                if check(r, f"aws ec2 describe-instances ({n})"):
                    as_.append(r.wall)
                    ar.append(r.rss_kb / 1024)
                    if k == 0:
                        got = open(of, "rb").read().count(b'"InstanceId"')
                        if got != n:
                            FAILURES.append(f"aws describe-instances listed {got} instances, not {n}")
                raw.append(self.raw_pages(n))
            res = {"gpuctl_s": summary(gs), "aws_s": summary(as_), "gpuctl_rss_mib": summary(gr),
                   "aws_rss_mib": summary(ar), "server_s": summary(raw),
                   "samples": {"gpuctl_s": gs, "aws_s": as_, "gpuctl_rss_mib": gr, "aws_rss_mib": ar,
                               "server_s": raw}}
            out[str(n)] = res
            log(f"  {n:>6} instances: gpuctl {fmt_s(res['gpuctl_s'])} {fmt_v(res['gpuctl_rss_mib'], 'MiB')}")
            log(f"  {'':>6}            aws    {fmt_s(res['aws_s'])} {fmt_v(res['aws_rss_mib'], 'MiB')}")
            log(f"  {'':>6}            raw pages (the simulator's share) {fmt_s(res['server_s'])}")
        self.record("list", {"sizes": out, "commands": {"gpuctl": "gpuctl list", "aws": " ".join(a_cmd[3:])}})

    def raw_pages(self, n):
        """The simulator's own time for gpuctl's pages: signed POSTs of the same
        DescribeInstances requests (1000 a page), bodies read and dropped."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        import http.client
        auth = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ec2", LIST_REGION)
        host = self.sim.url.split("//", 1)[1]
        params = [("Action", "DescribeInstances"), ("Version", "2016-11-15"),
                  ("Filter.1.Name", "instance-state-name")]
        params += [(f"Filter.1.Value.{i + 1}", v) for i, v in enumerate(LIST_STATES.split(","))]
        params += [("Filter.2.Name", "tag-key"), ("Filter.2.Value.1", MANAGED), ("MaxResults", "1000")]
        token = None
        t = time.perf_counter()
        conn = http.client.HTTPConnection(host, timeout=120)
        pages = 0
        while True:
            p = params + ([("NextToken", token)] if token else [])
            body = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in p)
            req = AWSRequest(method="POST", url=self.sim.url + "/", data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
            auth.add_auth(req)
            conn.request("POST", "/", body=body, headers=dict(req.headers))
            data = conn.getresponse().read()
            pages += 1
            m = re.search(rb"<nextToken>([^<]+)</nextToken>", data)
            if not m or pages > n // 1000 + 2:
                break
            token = m.group(1).decode()
        conn.close()
        return time.perf_counter() - t


def _q(s):
    s = str(s)
    return "'" + s.replace("'", "'\\''") + "'"


BOTO_SIGN = r"""
import json, sys, time
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
body, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
auth = SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "ec2", "us-west-1")
def req():
    return AWSRequest(method="POST", url="https://ec2.us-west-1.amazonaws.com/", data=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
for r in [req() for _ in range(n // 10)]:
    auth.add_auth(r)
out = []
for k in range(runs):
    reqs = [req() for _ in range(n)]
    t = time.perf_counter()
    for r in reqs:
        auth.add_auth(r)
    out.append((time.perf_counter() - t) / n * 1e6)
print(json.dumps({"us_per_signature": out}))
"""


# --------------------------------------------------------------------------
# The table

def rows(res):
    """[(measure, gpuctl, peer, ratio text, target, met)] from the results."""
    out = []

    def add(measure, g, p, rtext, target, met, note=None):
        out.append({"measure": measure, "gpuctl": g, "peer": p, "ratio": rtext, "target": target,
                    "met": None if met is None else bool(met), "note": note})

    lst = res.get("list", {}).get("sizes", {})
    for n, want in (("1", 50), ("1000", 20), ("10000", 10)):
        d = lst.get(n)
        if not d:
            continue
        r = ratio(d["aws_s"], d["gpuctl_s"])
        srv = d["server_s"]["median"] if d.get("server_s") else 0
        net = None
        if d["gpuctl_s"] and d["aws_s"]:
            gn, an = d["gpuctl_s"]["median"] - srv, d["aws_s"]["median"] - srv
            net = an / gn if gn > 0 else None
        add(f"`gpuctl list` wall, {_inst(n)}", fmt_s(d["gpuctl_s"]),
            f"`aws ec2 describe-instances` {fmt_s(d['aws_s'])}",
            (f"{r:.1f}× faster" if r else "n/a") +
            (f"; {net:.0f}× without the simulator's own {srv:.3f} s" if net else ""),
            f"≥ {want}× faster", r is not None and r >= want,
            note=(f"{'yes' if net and net >= want else 'no'} without the simulator's share"
                  if r is not None and r < want else None))
    for n, want in (("1", 5), ("1000", None), ("10000", 10)):
        d = lst.get(n)
        if not d:
            continue
        r = ratio(d["gpuctl_rss_mib"], d["aws_rss_mib"])
        add(f"peak RSS of the same, {_inst(n)}", fmt_v(d["gpuctl_rss_mib"], "MiB"),
            f"AWS CLI {fmt_v(d['aws_rss_mib'], 'MiB')}", f"1/{1 / r:.1f}" if r else "n/a",
            f"≤ 1/{want}" if want else "(none)", None if want is None else (r is not None and r <= 1 / want))
    sv = res.get("sigv4")
    if sv:
        g = sv["gpuctl"]["sign"]
        fr, fe = sv["gpuctl"]["floor_raw"], sv["gpuctl"]["floor_evp"]
        b = sv["botocore_us"]
        rr = sv["gpuctl"]["sign_over_floor_raw"]["median"]
        re_ = sv["gpuctl"]["sign_over_floor_evp"]["median"]
        add("SigV4 signature, one core (cached key, payload hashed)",
            f"{g['median_ns']:.0f} ns ({g['min_ns']:.0f}–{g['max_ns']:.0f}); floor {fr['median_ns']:.0f} ns "
            f"(OpenSSL SHA256_*), {fe['median_ns']:.0f} ns (EVP)",
            f"botocore SigV4Auth {fmt_v(b, 'µs', 1)}",
            f"{b['median'] * 1000 / g['median_ns']:.0f}× faster than botocore; {rr:.2f}× the SHA256_* floor, "
            f"{re_:.2f}× the EVP floor",
            "≤ 1 µs and ≤ 2× the floor",
            g["median_ns"] <= 1000 and rr <= 2.0)
    la = res.get("launch")
    if la:
        s = la["summary"]
        a = s.get("gpuctl_accept_to_return")
        add("sshd accepting → `launch --wait ssh` returns", fmt_s(a, "ms"),
            f"`aws ec2 wait instance-running` + ssh loop {fmt_s(s.get('aws_accept_to_ssh'))}",
            f"{ratio(s.get('aws_accept_to_ssh'), a):.0f}× sooner" if a and s.get("aws_accept_to_ssh") else "n/a",
            "≤ 0.5 s", a is not None and a["median"] <= 0.5)
        gb, ab = s.get("gpuctl_beyond"), s.get("aws_beyond")
        r = ratio(ab, gb)
        add("launch → first remote command, time beyond the 5 s boot (boot 3 s, ssh 2 s)",
            fmt_s(gb), f"aws run-instances + wait + describe + ssh loop {fmt_s(ab)}",
            f"{r:.0f}× less" if r else "n/a", "≥ 5× less", r is not None and r >= 5)
    cp = res.get("cp")
    if cp:
        for d in ("up", "down"):
            g, sc, sf = (cp["mb_per_s"].get(f"{d}_{k}") for k in ("gpuctl", "scp", "sftp"))
            r = ratio(g, sc)
            add(f"`gpuctl cp` {cp['bytes'] >> 20} MiB {d}load", fmt_v(g, "MB/s", 0),
                f"scp {fmt_v(sc, 'MB/s', 0)}; sftp {fmt_v(sf, 'MB/s', 0)}",
                f"{r:.2f}× scp's throughput" if r else "n/a", "≥ 1.0× scp", r is not None and r >= 1.0)
    cr = res.get("cpr")
    if cr:
        for d in ("up", "down"):
            g, sc, t = (cr["summary"].get(f"{d}_{k}") for k in ("gpuctl", "scp", "tar_ssh"))
            if not g:
                continue
            r = ratio(sc, g)
            add(f"`gpuctl cp -r` {cr['files']:,} files of {cr['file_bytes'] // 1024} KiB, {d}load", fmt_s(g),
                f"`scp -r` {fmt_s(sc)}; `tar c \\| ssh tar x` {fmt_s(t)}",
                f"{r:.1f}× faster than scp -r" if r else "n/a", "≥ 5× faster", r is not None and r >= 5)
    sh = res.get("ssh")
    if sh:
        s = sh["summary"]
        r = ratio(s["gpuctl"], s["openssh"])
        add("`gpuctl ssh -- true` round trip", fmt_s(s["gpuctl"], "ms"),
            f"`ssh host true` {fmt_s(s['openssh'], 'ms')}; with curve25519 kex {fmt_s(s['openssh_curve25519'], 'ms')}",
            f"{r:.2f}×" if r else "n/a", "≤ 0.5×", r is not None and r <= 0.5)
    lg = res.get("login")
    if lg:
        s = lg["summary"]
        r = ratio(s["gpuctl"], s["openssh_loop"])
        add("first successful login after sshd starts", fmt_s(s["gpuctl"], "ms"),
            f"OpenSSH retry loop {fmt_s(s['openssh_loop'], 'ms')}", f"{r:.2f}×" if r else "n/a", "≤ 1.0×",
            r is not None and r <= 1.0)
    return out


def _inst(n):
    n = int(n)
    return f"{n:,} instance" + ("" if n == 1 else "s")


def table_md(rs):
    lines = ["| measure | gpuctl, median (min–max) | peer, median (min–max) | ratio | target | met |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rs:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        if r.get("note"):
            met += f" ({r['note']})"
        lines.append(f"| {r['measure']} | {r['gpuctl']} | {r['peer']} | {r['ratio']} | {r['target']} | {met} |")
    return "\n".join(lines) + "\n"


def machine_md(m, runs, duration, when):
    return (f"Run of {when}, {duration:.0f} s in all, "
            f"at least {runs} runs of each figure.\n\n"
            f"| machine | |\n| --- | --- |\n"
            f"| CPU | {m['cpu']}, {m['nproc']} cores ({', '.join(m['cpu_flags'])}) |\n"
            f"| memory | {m['memory']} |\n| kernel | {m['kernel']} ({m['os']}) |\n"
            f"| load average at start / end | {' '.join(m['loadavg_start'])} / {' '.join(m.get('loadavg_end', []))} |\n"
            + (f"| gpuctl | {m['gpuctl']}, libcurl {m['libcurl']}, libxml2 {m['libxml2']} |\n"
               if "libssh2" in m["gpuctl"] else
               f"| gpuctl | {m['gpuctl']} (libssh2 {m['libssh2']}, libcurl {m['libcurl']}, libxml2 {m['libxml2']}) |\n")
            + f"| AWS CLI | {m['aws']}, botocore {m['botocore']} |\n"
            f"| OpenSSH | {m['openssh']} |\n| OpenSSL | {m['openssl']} |\n| Python | {m['python']} |\n")


def write_outputs(args, info, res, duration, when=None):
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    rs = rows(res)
    when = when or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    doc = {"machine": info, "runs": args.runs, "duration_s": duration, "finished": when, "rows": rs,
           "results": res, "failures": FAILURES}
    (outdir / "results.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    gen = machine_md(info, args.runs, duration, when) + "\n" + table_md(rs)
    (outdir / "BENCHMARKS-table.md").write_text(gen)
    md = REPO / "BENCHMARKS.md"
    if not args.no_md and md.exists() and not args.only and not args.skip:
        text = md.read_text()
        b, e = "<!-- bench:begin -->", "<!-- bench:end -->"
        if b in text and e in text:
            head, rest = text.split(b, 1)
            _, tail = rest.split(e, 1)
            md.write_text(head + b + "\n" + gen + e + tail)
            log("BENCHMARKS.md: table refreshed")
    log(f"wrote {outdir / 'results.json'} and {outdir / 'BENCHMARKS-table.md'}")
    return rs


# --------------------------------------------------------------------------

def work_parent(want):
    """Where the files go: the local ones and, through the simulator's state
    dir, the instances' home folders.  tmpfs when it has room, so that the
    copies measure the tools and not the disk's writeback (a GiB written by
    one run would otherwise slow the next ones down)."""
    if want:
        return want
    need = 4 * BIG_MB << 20
    for d in ("/dev/shm", "/tmp"):
        try:
            if shutil.disk_usage(d).free > need:
                return d
        except OSError:
            pass
    return "/tmp"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpuctl", default=str(REPO / "build" / "gpuctl"))
    ap.add_argument("--sigv4-bench", default=str(REPO / "build" / "bench" / "sigv4_bench"))
    ap.add_argument("--runs", type=int, default=5, help="runs of each figure (at least 5)")
    ap.add_argument("--only", default="", help="comma list of: " + ", ".join(ALL))
    ap.add_argument("--skip", default="")
    ap.add_argument("--cpr-dirs", default="up,down", help="cp -r directions: up,down")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    ap.add_argument("--no-md", action="store_true", help="leave BENCHMARKS.md alone")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--render", action="store_true",
                    help="measure nothing: rewrite the tables from bench/results/results.json")
    ap.add_argument("--workdir", default="", help="parent of the work directory (default: /dev/shm "
                    "when it has 4 GiB free, else /tmp)")
    args = ap.parse_args()
    if args.render:
        doc = json.loads((Path(args.out) / "results.json").read_text())
        FAILURES.extend(doc.get("failures", []))
        args.runs = doc.get("runs", args.runs)
        when = doc.get("finished") or time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime((Path(args.out) / "results.json").stat().st_mtime))
        write_outputs(args, doc["machine"], doc["results"], doc["duration_s"], when)
        return 0
    names = [n for n in (args.only.split(",") if args.only else ALL) if n and n not in args.skip.split(",")]
    bad = [n for n in names if n not in ALL]
    if bad:
        ap.error(f"unknown benchmark(s): {', '.join(bad)}")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if os.geteuid() != 0 and set(names) - {"sigv4"}:
        print("bench: the simulated instances need root (sshd on port 22)", file=sys.stderr)
        return 2
    for tool in (args.gpuctl, AWS, PYTHON):
        if not os.access(tool, os.X_OK):
            print(f"bench: {tool} is missing", file=sys.stderr)
            return 2
    info = machine_info(args.gpuctl)
    log(f"gpuctl benchmarks: {', '.join(names)}; {args.runs} runs each")
    log(f"machine: {info['cpu']}, {info['nproc']} cores, {info['kernel']}; {info['gpuctl']}; {info['aws']}; "
        f"{info['openssh']}; libssh2 {info['libssh2']}")
    work = Path(tempfile.mkdtemp(prefix="gpuctl-bench-", dir=work_parent(args.workdir)))
    os.chmod(work, 0o755)
    info["workdir"] = str(work)
    log(f"work directory: {work}")
    b = Bench(args, work)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        if set(names) - {"sigv4"}:
            b.sim = Sim(work)
            log(f"simulator: {b.sim.url}")
        for n in names:
            if b.left() < 15:
                log(f"\n== {n}: skipped (time budget)")
                continue
            t = time.monotonic()
            try:
                getattr(b, "bench_" + n)()
            except KeyboardInterrupt:
                raise
            except Exception as e:  # one broken benchmark does not stop the others
                import traceback
                traceback.print_exc()
                FAILURES.append(f"{n}: {e!r}")
            log(f"  ({n}: {time.monotonic() - t:.0f} s; {elapsed():.0f} s so far)")
    except KeyboardInterrupt:
        FAILURES.append("interrupted")
        log("interrupted")
    finally:
        if b.main and b.sim:
            b.terminate(b.main["id"])
        if b.sim:
            b.sim.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    duration = elapsed()
    rs = write_outputs(args, info, b.results, duration)
    log("\n" + table_md(rs))
    log(f"total: {duration:.0f} s")
    if FAILURES:
        log("failures:\n  " + "\n  ".join(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
