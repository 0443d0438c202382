"""gpuctl ssh, cp, test and ssh-config against the simulator's real sshd
instances (issue 5's must-show list)."""
import hashlib
import http.server
import os
import re
import shutil
import socket
import stat
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from gpuctl_helpers import GPUCTL, gpuctl

CALLER = "127.0.0.1"


@pytest.fixture(scope="module")
def box(sim_factory, tmp_path_factory):
    """One launched instance (waited for SSH) shared by the tests here."""
    sim = sim_factory(boot_delay=0.3, ssh_delay=0.5)
    env = dict(sim.env, GPUCTL_CALLER_IP=CALLER)
    ud = tmp_path_factory.mktemp("ud") / "user-data"
    ud.write_text("#cloud-config\n# GPUCTL_SIM_FAIL_TEST=pytorch\n")
    p = gpuctl(sim, "launch", "--ami", "vict0rsch-1.0", "--type",
               "g2.2xlarge", "--name", "box", "--user-data", ud, env=env,
               timeout=120)
    assert p.returncode == 0, p.stderr
    return sim, env, p.stdout.strip()


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_digest(root, modes=False):
    """{relative path: (kind, sha or target, mode)} of a folder."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath, d)
            rel = str(p.relative_to(root))
            out[rel] = ("dir", None, stat.S_IMODE(p.stat().st_mode) if modes else None)
        for f in filenames:
            p = Path(dirpath, f)
            rel = str(p.relative_to(root))
            out[rel] = ("file", sha(p), stat.S_IMODE(p.stat().st_mode) if modes else None)
    return out


def test_exit_statuses(box):
    sim, env, iid = box
    assert gpuctl(sim, "ssh", "--", "true", env=env).returncode == 0
    assert gpuctl(sim, "ssh", iid, "--", "exit", "7", env=env).returncode == 7
    p = gpuctl(sim, "ssh", "box", "--", "kill", "-TERM", "$$", env=env)
    assert p.returncode == 128 + 15
    p = gpuctl(sim, "ssh", "--", "echo", "out;", "echo", "err", ">&2", env=env)
    assert p.stdout == "out\n" and p.stderr == "err\n"


def test_100mb_through_stdin_and_back(box, tmp_path):
    sim, env, _ = box
    src = tmp_path / "in.bin"
    with open(src, "wb") as f:
        f.write(os.urandom(100 << 20))
    with open(src, "rb") as fin, open(tmp_path / "out.bin", "wb") as fout:
        p = subprocess.run([GPUCTL, "ssh", "--", "cat"], env=env, stdin=fin,
                           stdout=fout, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sha(tmp_path / "out.bin") == sha(src)


def test_pipe_closed_early(box):
    sim, env, _ = box
    # `gpuctl ssh -- yes | head -1` ends cleanly
    p = subprocess.run(f"'{GPUCTL}' ssh -- yes | head -1", shell=True, env=env,
                       capture_output=True, timeout=30)
    assert p.stdout == b"y\n"


def test_cp_big_file_both_ways(box, tmp_path):
    sim, env, _ = box
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        f.write(os.urandom(100 << 20))
    p = gpuctl(sim, "cp", src, ":big.bin", env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    back = tmp_path / "back.bin"
    p = gpuctl(sim, "cp", ":big.bin", back, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sha(back) == sha(src)
    r = gpuctl(sim, "ssh", "--", "sha256sum", "big.bin", env=env)
    assert r.stdout.split()[0] == sha(src)


def make_tree(root):
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "with space").mkdir()
    (root / "a" / "x.txt").write_text("x\n")
    (root / "a" / "b" / "c" / "deep.bin").write_bytes(os.urandom(70000))
    (root / "with space" / "caf\u00e9 \u65e5\u672c.txt").write_text("utf8\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o751)
    (root / "ro.txt").write_text("ro\n")
    (root / "ro.txt").chmod(0o444)
    os.symlink("a/x.txt", root / "link.txt")


def test_cp_tree_both_ways(box, tmp_path):
    sim, env, _ = box
    src = tmp_path / "tree"
    src.mkdir()
    make_tree(src)
    p = gpuctl(sim, "cp", "-rp", src, ":", env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    dst = tmp_path / "down"
    dst.mkdir()
    p = gpuctl(sim, "cp", "-rp", ":tree", dst, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    want = tree_digest(src, modes=True)
    got = tree_digest(dst / "tree", modes=True)
    # the symlink arrives as a file with its target's content (as scp)
    assert want.pop("link.txt")[1] == got.pop("link.txt")[1]
    assert got == want
    # mtimes kept with -p
    assert int((dst / "tree" / "a" / "x.txt").stat().st_mtime) == \
        int((src / "a" / "x.txt").stat().st_mtime)
    # a folder without -r is refused
    p = gpuctl(sim, "cp", src, ":elsewhere", env=env)
    assert p.returncode != 0 and "-r" in p.stderr


def test_bundled_flags_and_joined_values(box, tmp_path):
    """cp -rpq (the global -q in cp's bundle), -qpr, -lUSER, -l=USER, and
    the options after INSTANCE, as every command parses them."""
    sim, env, iid = box
    src = tmp_path / "bundle"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("bundled\n")
    (src / "sub" / "f.txt").chmod(0o640)
    os.utime(src / "sub" / "f.txt", (1500000000, 1500000000))
    p = gpuctl(sim, "cp", "-rpq", src, f"{iid}:", env=env, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    dst = tmp_path / "down"
    dst.mkdir()
    p = gpuctl(sim, "cp", ":bundle", "-qpr", dst, env=env, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    assert tree_digest(dst / "bundle", modes=True) == \
        tree_digest(src, modes=True)
    assert int((dst / "bundle" / "sub" / "f.txt").stat().st_mtime) == \
        1500000000
    p = gpuctl(sim, "ssh", iid, "-lubuntu", "-q", "--", "cat",
               "bundle/sub/f.txt", env=env)
    assert (p.returncode, p.stdout) == (0, "bundled\n"), p.stderr
    p = gpuctl(sim, "ssh", "-l=root", iid, "--", "true", env=env)
    assert p.returncode == 255 and "root" in p.stderr
    p = gpuctl(sim, "ssh-config", "--output=text", iid, "-l=ubuntu", env=env)
    assert p.returncode == 0, p.stderr
    assert "\n  User ubuntu\n" in p.stdout


def test_test_reports_failing_script(box):
    sim, env, _ = box
    p = gpuctl(sim, "test", env=env, timeout=60)
    assert p.returncode == 1, p.stderr
    rows = [line.split("\t") for line in p.stdout.splitlines()]
    results = {r[0]: r[1] for r in rows}
    assert results["test_pytorch.sh"] == "fail"
    assert any(v == "pass" for k, v in results.items() if k != "test_pytorch.sh")
    gpu = [r for r in rows if r[0].startswith("gpu")]
    assert gpu and gpu[0][1] == "pass" and "H200" in gpu[0][3]
    assert "test_pytorch.sh failed" in p.stderr
    p = gpuctl(sim, "--output", "json", "test", env=env, timeout=60)
    import json
    doc = json.loads(p.stdout)
    assert doc["gpus"][0]["name"] == "NVIDIA H200"
    assert doc["gpus"][0]["memoryTotalMiB"] > 100000


def test_test_upload_and_dir(box, tmp_path):
    sim, env, _ = box
    d = tmp_path / "mine"
    d.mkdir()
    (d / "ok.sh").write_text("#!/bin/sh\necho fine\n")
    (d / "ok.sh").chmod(0o755)
    (d / "notes.txt").write_text("not executable\n")
    p = gpuctl(sim, "test", "--dir", "mytests", "--upload", d, env=env,
               timeout=60)
    assert p.returncode == 0, p.stderr
    names = [line.split("\t")[0] for line in p.stdout.splitlines()]
    assert "ok.sh" in names and "notes.txt" not in names


def test_changed_host_key_refused(box):
    sim, env, iid = box
    kh = Path(env["XDG_CONFIG_HOME"]) / "gpuctl" / "known_hosts"
    saved = kh.read_text()
    lines = saved.splitlines()
    # another ed25519 key in place of the instance's
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(kh.parent / "other")], check=True)
    fake = (kh.parent / "other.pub").read_text().split()[1]
    host = lines[0].split()[0]
    kh.write_text(f"# gpuctl\n{host} ssh-ed25519 {fake}\n")
    try:
        p = gpuctl(sim, "ssh", "--", "true", env=env)
        assert p.returncode == 255
        assert f"{kh} line 2" in p.stderr
        assert "--accept-new-hostkey" in p.stderr
        p = gpuctl(sim, "ssh", "--accept-new-hostkey", "--", "true", env=env)
        assert p.returncode == 0, p.stderr
        assert fake not in kh.read_text()
    finally:
        kh.write_text(saved)


def test_wrong_user_diagnosed(box):
    sim, env, _ = box
    p = gpuctl(sim, "ssh", "-l", "root", "--", "true", env=env)
    assert p.returncode == 255
    assert "ubuntu" in p.stderr          # the AMI's user is suggested
    assert "-l USER" in p.stderr


def test_ssh_config_works_with_openssh(box, tmp_path):
    sim, env, iid = box
    p = gpuctl(sim, "ssh-config", "box", env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("Host box\n")
    assert "StrictHostKeyChecking yes" in p.stdout
    conf = tmp_path / "ssh_config"
    conf.write_text(p.stdout)
    r = subprocess.run(["ssh", "-F", str(conf), "-o", "BatchMode=yes", "box",
                        "echo", "via-openssh"], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "via-openssh\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello from {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()


def test_local_forward(box, web):
    sim, env, _ = box
    port = free_port()
    proc = subprocess.Popen([GPUCTL, "ssh", "-N", "-L",
                             f"{port}:localhost:{web}"], env=env,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None
                time.sleep(0.05)
        results = {}

        def get(n):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{n}",
                                        timeout=20) as r:
                results[n] = r.read().decode()
        threads = [threading.Thread(target=get, args=(n,)) for n in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {n: f"hello from /{n}" for n in range(5)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_remote_forward(box, web):
    sim, env, _ = box
    rport = free_port()
    script = ("import urllib.request, concurrent.futures as c;"
              f"u='http://127.0.0.1:{rport}/';"
              "f=lambda n: urllib.request.urlopen(u+str(n),timeout=20).read().decode();"
              "print(sorted(c.ThreadPoolExecutor(4).map(f, range(4))))")
    p = gpuctl(sim, "ssh", "-R", f"{rport}:localhost:{web}", "--",
               "python3", "-c", f'"{script}"', env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(sorted(f"hello from /{n}" for n in range(4)))


def tmux(*args):
    return subprocess.run(["tmux", "-L", "gpuctl-test", *args],
                          capture_output=True, text=True)


def pane_wait(pattern, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = tmux("capture-pane", "-p", "-t", "t").stdout
        if re.search(pattern, out, re.M):
            return out
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} not on the pane:\n{out}")


def test_interactive_shell_in_tmux(box, tmp_path):
    sim, env, _ = box
    if not shutil.which("tmux"):
        pytest.fail("tmux is missing: scripts/install-deps.sh installs it")
    script = tmp_path / "run.sh"
    envs = " ".join(f"{k}='{v}'" for k, v in env.items())
    script.write_text(f"#!/bin/sh\nenv -i {envs} TERM=xterm '{GPUCTL}' ssh\n"
                      "echo \"back:$(stty -a | grep -o -- '-icanon')\"\n"
                      "sleep 30\n")
    script.chmod(0o755)
    tmux("kill-server")
    try:
        assert tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
                    str(script)).returncode == 0
        pane_wait(r"\$ ?$")
        tmux("send-keys", "-t", "t", "echo rem''ote-$((6*7))", "Enter")
        pane_wait(r"remote-42")
        tmux("send-keys", "-t", "t", "stty size", "Enter")
        pane_wait(r"\b30 100\b")
        tmux("resize-window", "-t", "t", "-x", "120", "-y", "40")
        time.sleep(0.3)
        tmux("send-keys", "-t", "t", "stty size", "Enter")
        pane_wait(r"\b40 120\b")
        tmux("send-keys", "-t", "t", "exit", "Enter")
        # the local terminal is back in canonical mode
        out = pane_wait(r"back:")
        assert "back:-icanon" not in out
    finally:
        tmux("kill-server")


def test_forced_pty_for_a_command(box):
    sim, env, _ = box
    p = gpuctl(sim, "ssh", "-t", "--", "tty", env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith("/dev/pts/")
    p = gpuctl(sim, "ssh", "--", "tty", env=env)
    assert p.stdout.strip() == "not a tty"


def test_key_from_ssh_agent(box, tmp_path):
    sim, env, _ = box
    key = next((Path(env["XDG_CONFIG_HOME"]) / "gpuctl" / "keys" /
                "us-west-1").glob("*.pem"))
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)],
                             stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while not sock.exists():
            assert time.time() < deadline
            time.sleep(0.05)
        aenv = dict(env, SSH_AUTH_SOCK=str(sock))
        subprocess.run(["ssh-add", str(key)], env=aenv, check=True,
                       capture_output=True)
        # no key file given and the default one hidden: only the agent
        hidden = key.with_suffix(".hidden")
        key.rename(hidden)
        try:
            p = gpuctl(sim, "ssh", "--", "echo", "agent", env=aenv)
            assert p.returncode == 0, p.stderr
            assert p.stdout == "agent\n"
        finally:
            hidden.rename(key)
    finally:
        agent.terminate()
        agent.wait(timeout=10)
