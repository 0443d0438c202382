"""The host side of instances: loopback addresses, login users, volume contents, sshd."""
import ctypes
import fcntl
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

LOCK_DIR = Path("/run/ec2sim") if os.geteuid() == 0 else Path("/tmp/ec2sim-%d" % os.getuid())
NS_ETC = Path("/run/ec2sim-instance")  # mount point of the instance dir inside its namespace
HERE = Path(__file__).resolve().parent
FIXTURES = Path(os.environ.get("EC2SIM_FIXTURES") or HERE.parents[3] / "shared" / "fixtures")
SSHD = "/usr/sbin/sshd"
_libc = ctypes.CDLL(None, use_errno=True)


def _pdeathsig():
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


class AddressPool:
    """127.0.0.N (N >= 2) addresses, exclusive across simulators via flock'ed files."""

    def __init__(self, port):
        self.port = port
        self.held = {}
        LOCK_DIR.mkdir(parents=True, exist_ok=True)

    def take(self):
        for n in range(2, 255):
            ip = f"127.0.0.{n}"
            if ip in self.held:
                continue
            f = open(LOCK_DIR / f"addr-{ip}.lock", "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            s = socket.socket()
            try:
                s.bind((ip, self.port))
            except OSError:
                f.close()
                continue
            finally:
                s.close()
            self.held[ip] = f
            return ip
        raise RuntimeError("no free loopback address")

    def release(self, ip):
        f = self.held.pop(ip, None)
        if f:
            f.close()


def ensure_user(name):
    """Create the login user (shell /bin/bash, not locked) if missing; needs root."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_DIR / "useradd.lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            return pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "-M", "-U", "-d", f"/home/{name}", "-s", "/bin/bash", name],
                           check=True, capture_output=True)
            subprocess.run(["usermod", "-p", "*", name], check=True, capture_output=True)
            return pwd.getpwnam(name)


def keygen(path, comment, kind="ed25519"):
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", str(path)]
    if kind == "rsa":
        args[4:4] = ["-b", "2048", "-m", "PEM"]
    subprocess.run(args, check=True, capture_output=True, stdin=subprocess.DEVNULL)


def fingerprint(pubkey_path, md5=False):
    args = ["ssh-keygen", "-lf", str(pubkey_path)] + (["-E", "md5"] if md5 else [])
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


NVIDIA_SMI = r'''#!/usr/bin/python3
# nvidia-smi of the EC2 simulator: replays output recorded on a real H200.
import os, sys
D = os.path.expanduser("~/.sim/nvidia-smi")
def out(name):
    with open(os.path.join(D, name)) as f:
        sys.stdout.write(f.read())
a = sys.argv[1:]
if "--help" in a or "-h" in a:
    print("NVIDIA System Management Interface -- v580.159.04 (simulated)"); sys.exit(0)
if os.path.exists(os.path.expanduser("~/.sim/nvidia-smi-fail")):
    print("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
          "Make sure that the latest NVIDIA driver is installed and running."); sys.exit(9)
if "-L" in a or "--list-gpus" in a: out("nvidia-smi-L.txt")
elif "-q" in a and ("-x" in a or "--xml-format" in a): out("nvidia-smi-q.xml")
elif any(x.startswith("--query-gpu=") for x in a):
    want = [x.split("=", 1)[1] for x in a if x.startswith("--query-gpu=")][0].split(",")
    fmt = ([x.split("=", 1)[1] for x in a if x.startswith("--format=")] or ["csv"])[0].split(",")
    with open(os.path.join(D, "nvidia-smi-query.csv")) as f:
        head, row = [l.rstrip("\n") for l in f.readlines()[:2]]
    names = [h.strip() for h in head.split(",")]; vals = [v.strip() for v in row.split(",")]
    keys = [n.split(" [")[0] for n in names]
    hs, vs = [], []
    for w in want:
        w = w.strip()
        if w not in keys:
            print(f'Field "{w}" is not a valid field to query.'); sys.exit(2)
        i = keys.index(w); h, v = names[i], vals[i]
        if "nounits" in fmt and " [" in h:
            h = h.split(" [")[0]; v = v.split(" ")[0]
        hs.append(h); vs.append(v)
    if "noheader" not in fmt: print(", ".join(hs))
    print(", ".join(vs))
elif a: print(f"Invalid combination of input arguments: {' '.join(a)}"); sys.exit(2)
else: out("nvidia-smi.txt")
'''

TESTS = {
    "cuda": 'echo "CUDA Device Query (Runtime API)"\necho "Detected 1 CUDA Capable device(s)"\n'
            'echo "Device 0: \\"NVIDIA H200\\""\necho "  CUDA Driver Version / Runtime Version          13.0 / 12.4"\n'
            'echo "Result = PASS"',
    "pytorch": 'echo "torch 2.3.1+cu121"\necho "cuda available: True"\necho "device: NVIDIA H200"\n'
               'echo "tensor([[2., 2.], [2., 2.]], device=\'cuda:0\')"\necho "PyTorch test passed"',
    "tensorflow": 'echo "tensorflow 2.16.1"\necho "Num GPUs Available: 1"\n'
                  'echo "/physical_device:GPU:0 NVIDIA H200"\necho "tf.Tensor(4.0, shape=(), dtype=float32)"\n'
                  'echo "TensorFlow test passed"',
}


def make_volume(vol, user, fail_tests=()):
    """Fill a fresh root volume (the login user's home) and hand it to the user."""
    sim = vol / ".sim" / "nvidia-smi"
    sim.mkdir(parents=True, exist_ok=True)
    for name in ("nvidia-smi.txt", "nvidia-smi-L.txt", "nvidia-smi-query.csv", "nvidia-smi-q.xml"):
        src = FIXTURES / "nvidia-smi" / name
        if src.exists():
            shutil.copyfile(src, sim / name)
        else:
            (sim / name).write_text("(fixture %s missing)\n" % name)
    (vol / "bin").mkdir(exist_ok=True)
    (vol / "bin" / "nvidia-smi").write_text(NVIDIA_SMI)
    (vol / "bin" / "nvidia-smi").chmod(0o755)
    test = vol / "test"
    test.mkdir(exist_ok=True)
    for name, body in TESTS.items():
        p = test / f"test_{name}.sh"
        p.write_text("#!/bin/bash\n# simulated GPU framework test\n"
                     f'if [ -f "$HOME/test/fail_test" ] && grep -qxE "{name}|all" "$HOME/test/fail_test"; then\n'
                     f'  echo "{name} test FAILED: no CUDA-capable device is detected" >&2\n  exit 1\nfi\n'
                     f"{body}\nexit 0\n")
        p.chmod(0o755)
    if fail_tests:
        (test / "fail_test").write_text("".join(t + "\n" for t in fail_tests))
    path_line = 'export PATH="$HOME/bin:$PATH"\n'
    (vol / ".profile").write_text("# ~/.profile\n" + path_line +
                                  '[ -n "$BASH_VERSION" ] && [ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n')
    (vol / ".bashrc").write_text("# ~/.bashrc\ncase :$PATH: in *:$HOME/bin:*) ;; *) " + path_line.strip() + " ;; esac\n")
    if user and os.geteuid() == 0:
        pw = pwd.getpwnam(user)
        for root, dirs, files in os.walk(vol):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.lchown(n, pw.pw_uid, pw.pw_gid)
    vol.chmod(0o755)


# sshd_config keywords a test may set (--sshd-option, /_sim/config sshd_options)
SSHD_OPTIONS = ("LogLevel", "Ciphers", "MACs", "KexAlgorithms", "HostKeyAlgorithms",
                "PubkeyAcceptedAlgorithms")
_SSHD_VALUE = re.compile(r"[A-Za-z0-9@.,+_-]{1,1000}")


def check_sshd_options(opts):
    """opts ({keyword: value}) checked: known keywords, plain values; ValueError if not."""
    if not isinstance(opts, dict):
        raise ValueError("sshd options are an object of sshd_config keywords and values")
    for k, v in opts.items():
        if k not in SSHD_OPTIONS:
            raise ValueError(f"sshd option {k!r} is not one of {', '.join(SSHD_OPTIONS)}")
        if not isinstance(v, str) or not _SSHD_VALUE.fullmatch(v):
            raise ValueError(f"sshd option {k}: bad value {v!r}")
    return opts


def sshd_config(idir, ip, port, user, home, options=None):
    extra = "".join(f"{k} {v}\n" for k, v in check_sshd_options(options or {}).items())
    return f"""# sshd of a simulated EC2 instance
{extra}ListenAddress {ip}:{port}
HostKey {idir}/ssh_host_ed25519_key
PidFile {idir}/sshd.pid
AuthorizedKeysFile {NS_ETC}/authorized_keys
AuthorizedKeysCommand none
AllowUsers {user}
PermitRootLogin no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxStartups 100:30:200
MaxSessions 50
ClientAliveInterval 30
SetEnv PATH={home}/bin:/usr/local/bin:/usr/bin:/bin
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def start_sshd(idir, vol, user, log):
    """sshd -D in its own mount namespace, with the volume over the user's home."""
    home = f"/home/{user}"
    os.makedirs(home, exist_ok=True)
    os.makedirs(NS_ETC, exist_ok=True)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    idir.chmod(0o755)
    script = 'mount --bind "$1" "$2" && mount --bind "$3" "$4" && exec "$5" -D -e -f "$3/sshd_config"'
    return subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
         str(vol), home, str(idir), str(NS_ETC), SSHD],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_pdeathsig, close_fds=True)


def mnt_ns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


SELF_NS = mnt_ns(os.getpid())


# Mount namespaces of live instances, each held open so that its inode number
# cannot be given to another instance's (another simulator's) new namespace
# while kill_instance_procs() still sweeps processes by that number.
_PINNED = {}
_PIN_LOCK = threading.Lock()


def pin_ns(pid, ns):
    """Hold pid's mount namespace ns open until kill_instance_procs() is done."""
    if not ns or ns == SELF_NS:
        return
    try:
        fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
    except OSError:
        return
    if f"mnt:[{os.fstat(fd).st_ino}]" != ns:
        os.close(fd)
        return
    with _PIN_LOCK:
        old = _PINNED.pop(ns, None)
        _PINNED[ns] = fd
    if old is not None:
        os.close(old)


def _unpin(ns):
    with _PIN_LOCK:
        fd = _PINNED.pop(ns, None)
    if fd is not None:
        os.close(fd)


def kill_instance_procs(proc, ns):
    """Stop an instance's sshd and every process left in its mount namespace."""
    if proc is not None and proc.poll() is None:
        ns = ns or mnt_ns(proc.pid)
        if ns not in _PINNED:
            pin_ns(proc.pid, ns)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            pass
    if ns and ns != SELF_NS and ns in _PINNED:
        for _ in range(2):
            for d in os.listdir("/proc"):
                if d.isdigit() and mnt_ns(d) == ns:
                    try:
                        os.kill(int(d), signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.05)
    _unpin(ns)
    if proc is not None:
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()


def children(pid):
    """PIDs of pid's children (its SSH connections, for an sshd)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def is_sshd(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().startswith("sshd")
    except OSError:
        return False


def kill_child(parent, pid):
    """SIGKILL pid if it is still parent's child (an SSH connection of an sshd)."""
    if pid not in children(parent):
        return False
    tree, i = [pid], 0
    while i < len(tree):  # the connection's monitor, its session process, sftp-server
        tree += children(tree[i])
        i += 1
    hit = False
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
            hit = True
        except OSError:
            pass
    return hit
