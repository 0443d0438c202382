"""The fault campaign: complete gpuctl workflows (launch -> wait ssh -> ssh
command -> cp both ways -> stop -> start -> terminate --snapshot) against
simulators that inject, at random but from a seed, every fault they have,
while some steps are interrupted with SIGINT or SIGTERM and re-run.

After each workflow the simulator's state and the user's local files are
checked: exactly one instance, tagged and listed; exactly one key pair and
one gpuctl-ssh group; exactly one completed snapshot; the copied data
identical; keys, known_hosts and state files whole and 0600.

One workflow (the first seed) runs under an assumed role (a profile with
role_arn and source_profile, issue 16) whose sessions last 3 s while its
snapshots take 4 s: its credentials expire in the middle of commands.  Every
EC2 request it makes must be signed by a session of that role, and at least
one command must have renewed its session on the way (signed with two).

run_campaign(sims, seeds, tmp) -> Figures; each simulator is used by one
worker thread at a time, so its faults are that workflow's own.
"""
import hashlib
import json
import os
import random
import re
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import gpuctl_helpers
import shutil

GPUCTL = gpuctl_helpers.GPUCTL

REGION = "us-west-1"
CALLER = "127.0.0.1"
ROLE_SESSION_S = 3      # the assumed-role workflow's sessions...
ROLE_SNAPSHOT_S = 4     # ...end while its snapshots are still pending
COMMIT_DROP_ACTIONS = ("RunInstances", "CreateKeyPair", "CreateSecurityGroup",
                       "TerminateInstances", "CreateSnapshot")
STEP_TIMEOUT = 150      # no gpuctl command may run longer (a hang)
STEP_TRIES = 6          # a user re-runs a failed command; so do we
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE,
                 signal.SIGILL, signal.SIGKILL, signal.SIGTRAP}
CRASH_RCS = {23, 99}    # LSan's exit code (asan-check), valgrind's (valgrind-check)


def fault_spec(rng):
    """The faults of one workflow: every kind has a fair chance."""
    items = []
    for kind in ("throttle", "500", "503", "drop"):
        p = rng.choice([0.0, 0.03, 0.05, 0.08])
        if p:
            items.append(f"{kind}={p}")
    if rng.random() < 0.6:
        items.append(f"slow={rng.choice([0.04, 0.08])}:{rng.choice([0.2, 0.5, 1.0])}")
    for a in COMMIT_DROP_ACTIONS:
        if rng.random() < 0.3:
            items.append(f"commit-drop@{a}=1")
    if rng.random() < 0.3:
        items.append(f"consistency={rng.choice([1, 2, 3])}s")
    if rng.random() < 0.2:
        items.append(f"sshd-late@RunInstances=1:{rng.choice([1.0, 2.0, 3.0])}")
    if rng.random() < 0.15:
        items.append(f"sshd-late@StartInstances=1:{rng.choice([1.0, 2.0])}")
    if rng.random() < 0.5:
        items.append(f"sshd-cut={rng.choice([0.3, 0.5])}:0.3")
    return ",".join(items)


class Figures:
    def __init__(self):
        self.lock = threading.Lock()
        self.workflows = 0
        self.completed = 0
        self.interrupted = {"SIGINT": 0, "SIGTERM": 0}
        self.faults = {}
        self.faults_by_action = {}
        self.duplicates = 0
        self.orphans = 0
        self.mismatches = 0
        self.crashes = 0
        self.hangs = 0
        self.local_file_problems = 0
        self.incomplete = 0
        self.step_failures = 0
        self.problems = []
        self.sshd_restarts = 0  # the simulator's sshd died and was restarted
        self.assumed_role = 0  # workflows run under an assumed role
        self.renewed = 0  # commands that renewed their role session midway
        self.creds_problems = 0
        self.wall = 0.0

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def problem(self, seed, what):
        with self.lock:
            self.problems.append(f"seed {seed}: {what}")

    def merge_faults(self, before, after):
        with self.lock:
            self.sshd_restarts += after["requests"].get("_sshd_restarts", 0) - \
                before["requests"].get("_sshd_restarts", 0)
            for src, dst in (("faults", self.faults), ("faults_by_action", self.faults_by_action)):
                b, a = before.get(src, {}), after.get(src, {})
                for k, v in a.items():
                    d = v - b.get(k, 0)
                    if d:
                        dst[k] = dst.get(k, 0) + d

    def kinds(self):
        """Injected faults per kind as the campaign names them."""
        f, fa = self.faults, self.faults_by_action
        out = {k: f.get(k, 0) for k in ("throttle", "500", "503", "drop", "slow",
                                         "consistency", "sshd-late")}
        for a in COMMIT_DROP_ACTIONS:
            out[f"commit-drop@{a}"] = fa.get(f"commit-drop@{a}", 0)
        out["sshd-cut"] = f.get("sshd-cut-hit", 0)
        return out

    def failures(self):
        return (self.duplicates + self.orphans + self.mismatches + self.crashes +
                self.hangs + self.local_file_problems + self.incomplete +
                self.creds_problems)

    def report(self):
        k = self.kinds()
        lines = [
            "fault campaign figures",
            f"  workflows run:        {self.workflows} ({self.completed} completed)",
            f"  interrupted steps:    SIGINT {self.interrupted['SIGINT']}, "
            f"SIGTERM {self.interrupted['SIGTERM']}",
            f"  faults injected:      {sum(k.values())}",
        ]
        for name, n in k.items():
            lines.append(f"    {name:<31} {n}")
        lines += [
            f"  failed steps re-run:  {self.step_failures}",
            f"  duplicates:           {self.duplicates}",
            f"  orphans:              {self.orphans}",
            f"  data mismatches:      {self.mismatches}",
            f"  crashes:              {self.crashes}",
            f"  hangs:                {self.hangs}",
            f"  local file problems:  {self.local_file_problems}",
            f"  incomplete workflows: {self.incomplete}",
            f"  under an assumed role: {self.assumed_role} workflow(s), "
            f"{self.renewed} command(s) renewed their session midway",
            f"  credential problems:  {self.creds_problems}",
            f"  (simulator sshd restarts: {self.sshd_restarts})",
            f"  wall time:            {self.wall:.0f} s",
        ]
        lines += ["  problem: " + p for p in self.problems[:50]]
        return "\n".join(lines)

    def as_dict(self):
        return {"workflows": self.workflows, "completed": self.completed,
                "interrupted": self.interrupted, "faults": self.kinds(),
                "duplicates": self.duplicates, "orphans": self.orphans,
                "mismatches": self.mismatches, "crashes": self.crashes,
                "hangs": self.hangs, "local_file_problems": self.local_file_problems,
                "incomplete": self.incomplete, "step_failures": self.step_failures,
                "assumed_role": self.assumed_role, "renewed_midway": self.renewed,
                "creds_problems": self.creds_problems,
                "sshd_restarts": self.sshd_restarts,
                "wall_s": round(self.wall, 1), "problems": self.problems}


class StepFailed(Exception):
    pass


class Workflow:
    def __init__(self, sim, seed, tmp, figs, assume_role=False):
        self.sim, self.seed, self.figs = sim, seed, figs
        self.rng = random.Random(seed)
        self.dir = Path(tmp) / f"wf{seed}"
        home = self.dir / "home"
        home.mkdir(parents=True)
        self.env = dict(sim.env, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                        XDG_STATE_HOME=str(home / ".local" / "state"),
                        GPUCTL_CALLER_IP=CALLER)
        self.name = f"wf{seed}"
        self.key = f"k{seed}"
        self.log = open(self.dir / "log", "w")
        self.assume_role = assume_role
        self.signers = []  # per gpuctl run: the keys that signed its EC2 requests
        if assume_role:
            aws = home / ".aws"
            aws.mkdir()
            (aws / "config").write_text(
                "[profile campaign]\nrole_arn = arn:aws:iam::123456789012:role/campaign\n"
                "source_profile = base\n")
            (aws / "credentials").write_text(
                f"[base]\naws_access_key_id = {sim.env['AWS_ACCESS_KEY_ID']}\n"
                f"aws_secret_access_key = {sim.env['AWS_SECRET_ACCESS_KEY']}\n")
            (aws / "credentials").chmod(0o600)
            for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                self.env.pop(k)
            self.env.update(AWS_PROFILE="campaign", AWS_CONFIG_FILE=str(aws / "config"),
                            AWS_SHARED_CREDENTIALS_FILE=str(aws / "credentials"))

    # ---- running gpuctl --------------------------------------------------------------------
    def _judge(self, args, rc, err):
        if rc < 0 and -rc in CRASH_SIGNALS or rc in CRASH_RCS or \
                "AddressSanitizer" in err or "runtime error:" in err:
            self.figs.add(crashes=1)
            self.figs.problem(self.seed, f"crash: gpuctl {' '.join(args)} -> {rc}: {err[-500:]}")
            return True
        return False

    def callers(self):
        return len(self.sim.admin("/_sim/callers")) if self.assume_role else 0

    def note_signers(self, since):
        """The keys that signed the EC2 requests of the gpuctl run that just
        ended (this simulator serves this workflow alone)."""
        if self.assume_role:
            self.signers.append([c for c in self.sim.admin("/_sim/callers")[since:]
                                 if c["service"] == "ec2"])

    def run(self, *args, ok=(0,)):
        """gpuctl ARGS; re-run on failure like a user would.  Returns stdout."""
        args = [str(a) for a in args]
        last = None
        for _ in range(STEP_TRIES):
            t0 = time.time()
            since = self.callers()
            try:
                p = subprocess.run([GPUCTL, *args], env=self.env, capture_output=True,
                                   timeout=STEP_TIMEOUT, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                self.figs.add(hangs=1)
                self.figs.problem(self.seed, f"hang: gpuctl {' '.join(args)}")
                raise StepFailed("hang")
            finally:
                self.note_signers(since)
            out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
            self.log.write(f"$ gpuctl {' '.join(args)} -> {p.returncode} "
                           f"({time.time() - t0:.1f}s)\n{out}{err}\n")
            if self._judge(args, p.returncode, err):
                raise StepFailed("crash")
            if p.returncode in ok:
                return out
            self.figs.add(step_failures=1)
            last = f"gpuctl {' '.join(args)} -> {p.returncode}: {err.strip()[-300:]}"
            time.sleep(0.2)
        raise StepFailed(last)

    def interrupt(self, *args):
        """Starts gpuctl ARGS and interrupts it at a random point."""
        args = [str(a) for a in args]
        sig = self.rng.choice([signal.SIGINT, signal.SIGTERM])
        delay = self.rng.uniform(0.05, 2.0)
        p = subprocess.Popen([GPUCTL, *args], env=self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            p.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            p.send_signal(sig)
            with self.figs.lock:
                self.figs.interrupted[sig.name] += 1
        try:
            out, err = p.communicate(timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            self.figs.add(hangs=1)
            self.figs.problem(self.seed, f"hang after {sig.name}: gpuctl {' '.join(args)}")
            raise StepFailed("hang")
        err = err.decode(errors="replace")
        self.log.write(f"$ gpuctl {' '.join(args)} (+{delay:.2f}s {sig.name}) -> "
                       f"{p.returncode}\n{out.decode(errors='replace')}{err}\n")
        if p.returncode not in (-sig, 128 + sig):
            self._judge(args, p.returncode, err)
        return p.returncode, out.decode(errors="replace")

    def maybe_interrupt(self, step, *args):
        """(rc, stdout) of a run interrupted at a random point, or None."""
        if step in self.interrupt_at:
            return self.interrupt(*args)
        return None

    # ---- the workflow ----------------------------------------------------------------------
    def state(self):
        return self.sim.state()[REGION]

    def go(self):
        rng = self.rng
        spec = fault_spec(rng)
        steps = ["launch", "cp", "stop", "start", "terminate"]
        self.interrupt_at = set(s for s in steps if rng.random() < 0.12)
        size = rng.choice([1 << 10, 64 << 10, 1 << 20, 3 << 20])
        data = random.Random(self.seed * 7919).randbytes(size)
        src = self.dir / "data.bin"
        src.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        self.log.write(f"faults: {spec}\ninterrupt: {sorted(self.interrupt_at)}\n")
        self.sim.set_faults("")
        before_state = self.state()
        before_stats = self.sim.stats()
        if self.assume_role:
            self.figs.add(assumed_role=1)
            self.first_caller = self.callers()
            snap_delay = self.sim.admin("/_sim/config")["snapshot_delay"]
            self.sim.admin("/_sim/identity", {"duration": ROLE_SESSION_S})
            self.sim.admin("/_sim/config", {"snapshot_delay": ROLE_SNAPSHOT_S})
        self.sim.set_faults(spec)
        iid = None
        try:
            launch = ["launch", "--ami", "vict0rsch-1.0", "--type", "g2.2xlarge",
                      "--name", self.name, "--key", self.key, "--wait", "ssh",
                      "--timeout", "90"]
            r = self.maybe_interrupt("launch", *launch)
            if r and r[0] == 0:  # it was over before the signal: a re-run would be a new launch
                iid = r[1].strip().splitlines()[-1]
            else:
                iid = self.run(*launch).strip().splitlines()[-1]
            if iid not in self.run("list"):
                self.figs.add(orphans=1)
                self.figs.problem(self.seed, f"{iid} not in gpuctl list")
            out = self.run("ssh", iid, "--", "echo", f"hello-{self.seed}")
            if out != f"hello-{self.seed}\n":
                self.figs.add(mismatches=1)
                self.figs.problem(self.seed, f"ssh output {out!r}")
            self.maybe_interrupt("cp", "cp", src, f"{iid}:data.bin")
            self.run("cp", src, f"{iid}:data.bin")
            back = self.dir / "back.bin"
            self.run("cp", f"{iid}:data.bin", back)
            self.check_data(back.read_bytes(), digest, "cp back")
            self.check_volume(iid, digest)
            self.maybe_interrupt("stop", "stop", iid, "--wait")
            self.run("stop", iid, "--wait")
            self.maybe_interrupt("start", "start", iid, "--wait")
            self.run("start", iid, "--wait")
            self.after_start(iid, digest)
            term = ["terminate", iid, "--snapshot", "--yes"]
            self.maybe_interrupt("terminate", *term)
            if self.state()["instances"][iid]["state"] in ("shutting-down", "terminated"):
                pass  # the interrupted run got that far
            else:
                self.run(*term)
            self.wait_terminated(iid)
            self.sim.set_faults("")
            self.check(before_state, iid)
            self.check_role()
            self.figs.add(completed=1)
        except StepFailed as e:
            self.figs.add(incomplete=1)
            self.figs.problem(self.seed, f"incomplete: {e}")
        finally:
            self.figs.add(workflows=1)
            self.log.close()
            self.sim.set_faults("")
            if self.assume_role:
                self.sim.admin("/_sim/identity", {"duration": None})
                self.sim.admin("/_sim/config", {"snapshot_delay": snap_delay})
            self.figs.merge_faults(before_stats, self.sim.stats())
            self.cleanup(iid)

    def check_role(self):
        """Under the assumed role: every EC2 request signed by one of its
        sessions, and a session renewed in the middle of a command."""
        if not self.assume_role:
            return
        bad = [c for c in self.sim.admin("/_sim/callers")[self.first_caller:]
               if c["service"] == "ec2" and
               not c["arn"].startswith("arn:aws:sts::123456789012:assumed-role/campaign/")]
        if bad:
            self.figs.add(creds_problems=1)
            self.figs.problem(self.seed, f"EC2 requests not signed by the role: {bad[:3]}")
        renewed = sum(1 for run in self.signers if len({c["access_key"] for c in run}) > 1)
        self.figs.add(renewed=renewed)
        if not renewed:
            self.figs.add(creds_problems=1)
            self.figs.problem(self.seed, "no command renewed its role session midway")
        cache = Path(self.env["HOME"], ".aws", "cli", "cache")
        for f in cache.glob("*"):
            if stat.S_IMODE(f.stat().st_mode) != 0o600 or f.suffix != ".json":
                self.figs.add(creds_problems=1)
                self.figs.problem(self.seed, f"AWS CLI cache file {f.name} "
                                  f"mode {oct(f.stat().st_mode)}")
            else:
                json.loads(f.read_text())

    def after_start(self, iid, digest):
        """Files survive stop/start: retried while the sshd comes back (it may be late)."""
        deadline = time.time() + 60
        while True:
            p = subprocess.run([GPUCTL, "ssh", iid, "--", "sha256sum", "data.bin"],
                               env=self.env, capture_output=True, timeout=STEP_TIMEOUT,
                               stdin=subprocess.DEVNULL)
            err = p.stderr.decode(errors="replace")
            if self._judge(["ssh"], p.returncode, err):
                raise StepFailed("crash")
            if p.returncode == 0:
                self.check_data(None, digest, "after start", got=p.stdout.decode().split()[0])
                return
            if time.time() > deadline:
                raise StepFailed(f"ssh after start: {err[-300:]}; {self.sshd_info(iid)}")
            time.sleep(0.3)

    def sshd_info(self, iid):
        i = self.state()["instances"][iid]
        try:
            log = Path(i["dir"], "sshd.log").read_text(errors="replace")[-800:]
        except OSError as e:
            log = str(e)
        return f"state {i['state']} sshd_pid {i['sshd_pid']} sshd.log: {log}"

    def check_data(self, data, digest, what, got=None):
        got = got or hashlib.sha256(data).hexdigest()
        if got != digest:
            self.figs.add(mismatches=1)
            self.figs.problem(self.seed, f"data mismatch ({what})")

    def check_volume(self, iid, digest):
        st = self.state()
        for vid in st["instances"][iid]["volumes"]:
            d = st["volumes"].get(vid, {}).get("data")
            if d:
                self.check_data(Path(d, "data.bin").read_bytes(), digest, "on the volume")

    def wait_terminated(self, iid):
        deadline = time.time() + 30
        while self.state()["instances"][iid]["state"] != "terminated":
            if time.time() > deadline:
                raise StepFailed(f"{iid} not terminated")
            time.sleep(0.1)

    # ---- the checks --------------------------------------------------------------------------
    def check(self, before, iid):
        st = self.state()
        bad = lambda what, kind: (self.figs.add(**{kind: 1}), self.figs.problem(self.seed, what))
        new = {k: v for k, v in st["instances"].items() if k not in before["instances"]}
        mine = [k for k, v in new.items() if v["tags"].get("Name") == self.name]
        if len(mine) > 1:
            bad(f"{len(mine)} instances named {self.name}: {mine}", "duplicates")
        for k, v in new.items():
            if v["tags"].get("gpuctl:managed") != "true" or k != iid:
                bad(f"untracked or extra instance {k} {v['tags']}", "orphans")
        for k, v in st["instances"].items():
            if v["state"] != "terminated":
                bad(f"instance {k} left {v['state']}", "orphans")
        # key pairs: this workflow's one, and it is the key on disk
        newkeys = set(st["keys"]) - set(before["keys"])
        if newkeys - {self.key}:
            bad(f"extra key pairs {newkeys - {self.key}}", "orphans")
        if self.key not in st["keys"]:
            bad(f"key pair {self.key} missing", "orphans")
        else:
            self.check_key(st["keys"][self.key]["public_key"])
        groups = [g for g in st["groups"].values() if g["name"] == "gpuctl-ssh"]
        if len(groups) != 1:
            bad(f"{len(groups)} gpuctl-ssh groups", "duplicates")
        elif [tuple(r[:4]) for r in groups[0]["ingress"]] != [("tcp", 22, 22, f"{CALLER}/32")]:
            bad(f"gpuctl-ssh ingress {groups[0]['ingress']}", "mismatches")
        if len(st["groups"]) != len(groups) + 1:
            bad(f"groups {[g['name'] for g in st['groups'].values()]}", "orphans")
        vol = st["instances"][iid]["volumes"][0]
        snaps = {k: v for k, v in st["snapshots"].items() if k not in before["snapshots"]}
        of_vol = [k for k, v in snaps.items() if v["volume"] == vol]
        if len(of_vol) > 1:
            bad(f"{len(of_vol)} snapshots of {vol}: {of_vol}", "duplicates")
        elif not of_vol:
            bad(f"no snapshot of {vol}", "orphans")
        elif snaps[of_vol[0]]["state"] != "completed":
            bad(f"snapshot {of_vol[0]} {snaps[of_vol[0]]['state']}", "mismatches")
        if set(snaps) - set(of_vol):
            bad(f"other snapshots {set(snaps) - set(of_vol)}", "orphans")
        if vol in st["volumes"]:
            bad(f"volume {vol} left", "orphans")
        self.check_local()

    def check_key(self, public_key):
        kdir = Path(self.env["XDG_CONFIG_HOME"], "gpuctl", "keys", REGION)
        kfile = kdir / f"{self.key}.pem"
        try:
            p = subprocess.run(["ssh-keygen", "-y", "-f", str(kfile)], capture_output=True,
                               text=True, timeout=30)
            if p.returncode or p.stdout.split()[:2] != public_key.split()[:2]:
                raise ValueError(f"{kfile} is not the key pair's key: {p.stderr}")
            if stat.S_IMODE(kfile.stat().st_mode) != 0o600 or \
                    stat.S_IMODE(kdir.stat().st_mode) != 0o700:
                raise ValueError(f"{kfile} mode {oct(kfile.stat().st_mode)}")
        except (OSError, ValueError, IndexError) as e:
            self.figs.add(local_file_problems=1)
            self.figs.problem(self.seed, f"key: {e}")

    def check_local(self):
        try:
            cfg = Path(self.env["XDG_CONFIG_HOME"], "gpuctl")
            kh = cfg / "known_hosts"
            if stat.S_IMODE(kh.stat().st_mode) != 0o600:
                raise ValueError(f"known_hosts mode {oct(kh.stat().st_mode)}")
            lines = [x for x in kh.read_text().splitlines() if x.strip()]
            if not lines or any(len(x.split()) < 3 for x in lines):
                raise ValueError(f"known_hosts corrupted: {lines!r}")
            p = subprocess.run(["ssh-keygen", "-l", "-f", str(kh)], capture_output=True, timeout=30)
            if p.returncode:
                raise ValueError("known_hosts unreadable by ssh-keygen")
            sdir = Path(self.env["XDG_STATE_HOME"], "gpuctl")
            for f in list(sdir.rglob("*")) + list(cfg.rglob("*")):
                if f.is_file():
                    if stat.S_IMODE(f.stat().st_mode) & 0o077:
                        raise ValueError(f"{f} mode {oct(f.stat().st_mode)}")
                    if f.suffix == ".json":
                        json.loads(f.read_text())
                    if f.name == "last-instance" and \
                            not re.fullmatch(r"i-[0-9a-f]+\n?", f.read_text()):
                        raise ValueError(f"{f}: {f.read_text()!r}")
                    if re.search(r"\.tmp|~$|\.new$|\.lock$|\.creating$", f.name) and f.stat().st_size:
                        raise ValueError(f"leftover {f}")
        except (OSError, ValueError) as e:
            self.figs.add(local_file_problems=1)
            self.figs.problem(self.seed, f"local files: {e}")

    def cleanup(self, iid):
        """Back to an empty account for the next workflow on this simulator: the
        group goes (so CreateSecurityGroup runs again), instances are ended."""
        st = self.state()
        live = [k for k, v in st["instances"].items() if v["state"] != "terminated"]
        if live:
            subprocess.run([GPUCTL, "terminate", "--yes", *live], env=self.env,
                           capture_output=True, timeout=STEP_TIMEOUT)
            deadline = time.time() + 30
            while time.time() < deadline and any(
                    self.state()["instances"][k]["state"] != "terminated" for k in live):
                time.sleep(0.1)
        for gid, g in self.state()["groups"].items():
            if g["name"] != "default":
                subprocess.run([GPUCTL, "api", "DeleteSecurityGroup", f"GroupId={gid}"],
                               env=self.env, capture_output=True, timeout=STEP_TIMEOUT)


def run_campaign(sims, seeds, tmp, assume_role_seeds=None):
    """assume_role_seeds: the seeds run under an assumed role (default: the
    first)."""
    global GPUCTL
    figs = Figures()
    with open(gpuctl_helpers.GPUCTL, "rb") as f:
        if f.read(4) == b"\x7fELF":  # a private copy: a rebuild meanwhile cannot break it
            GPUCTL = shutil.copy(gpuctl_helpers.GPUCTL, Path(tmp) / "gpuctl")
    todo = list(seeds)
    if assume_role_seeds is None:
        assume_role_seeds = set(todo[:1])
    lock = threading.Lock()

    def worker(sim):
        while True:
            with lock:
                if not todo:
                    return
                seed = todo.pop(0)
            try:
                Workflow(sim, seed, tmp, figs, seed in assume_role_seeds).go()
            except Exception as e:  # a bug of the harness, or the simulator died
                figs.add(incomplete=1)
                figs.problem(seed, f"harness: {e!r}")

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in sims]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figs.wall = time.time() - t0
    return figs
