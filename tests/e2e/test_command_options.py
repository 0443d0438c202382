"""Every command's options, parsed from its table (include/gpuctl/options.h):
"--opt=value", bundled short flags, the global options after the command
name, one shape for every usage error (exit 2, "see 'gpuctl help NAME'"),
and usage errors before credentials errors (exit 2 before 3).  The bundles
of cp and ssh that need a running sshd are in test_ssh_cmds.py."""
import json
import re

import pytest

from gpuctl_helpers import gpuctl

COMMANDS = ["launch", "list", "show", "ssh", "cp", "test", "stop", "start",
            "terminate", "images", "rules", "doctor", "ssh-config", "api"]


def ok(p):
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def requests(sim):
    return sum(sim.stats()["requests"].values())


def usage(p, cmd, message):
    """The command refused its words as a usage error, in the one shape."""
    assert (p.returncode, p.stdout) == (2, ""), (p.returncode, p.stderr)
    assert p.stderr == (f"gpuctl: {cmd}: {message}\n"
                        f"hint: see 'gpuctl help {cmd}'\n")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_unknown_option_every_command(sim, cmd):
    before = requests(sim)
    usage(gpuctl(sim, cmd, "--frobnicate"), cmd,
          "unknown option '--frobnicate'")
    usage(gpuctl(sim, cmd, "--frobnicate=1"), cmd,
          "unknown option '--frobnicate'")
    # a letter no table has, in a bundle with the global -q
    usage(gpuctl(sim, cmd, "-qZ"), cmd, "unknown option '-Z' in '-qZ'")
    usage(gpuctl(sim, cmd, "--quiet=yes"), cmd,
          "option '--quiet' takes no value")
    usage(gpuctl(sim, cmd, "--region"), cmd, "option '--region' needs a value")
    # nothing was asked of EC2
    assert requests(sim) == before


@pytest.mark.parametrize("args, message", [
    (["launch", "--ami=x", "--type=t", "--count=0"],
     "option '--count' must be 1 to 100, not '0'"),
    (["launch", "--ami", "x", "--type", "t", "--volume-size", "-1"],
     "option '--volume-size' must be 1 to 16384, not '-1'"),
    (["launch", "--ami=x", "--type=t", "--key-type=dsa"],
     "option '--key-type' must be ed25519 or rsa, not 'dsa'"),
    (["launch", "--ami=x", "--type=t", "--wait=soon"],
     "option '--wait' must be none, running or ssh, not 'soon'"),
    (["launch", "--ami=x", "--type=t", "--timeout=0"],
     "option '--timeout' must be 1 to 86400, not '0'"),
    (["launch", "--type=t"], "options '--ami' and '--type' are required"),
    (["launch", "--ami=x", "--type=t", "--test", "--wait=running"],
     "option '--test' needs --wait ssh (the default)"),
    (["launch", "--ami=x", "--type=t", "extra"],
     "unexpected argument 'extra'"),
    (["launch", "--ami=x", "--type=t", "--spot=yes"],
     "option '--spot' takes no value"),
    (["list", "--state=running,runing"],
     "option '--state' must be pending, running, stopping, stopped, "
     "shutting-down or terminated, not 'runing'"),
    (["list", "--all=1"], "option '--all' takes no value"),
    (["list", "extra"], "unexpected argument 'extra'"),
    (["show", "a", "b"], "unexpected argument 'b': one INSTANCE at a time"),
    (["doctor", "a", "-", "b"],
     "unexpected argument '-': one INSTANCE at a time"),
    (["ssh-config", "a", "b"],
     "unexpected argument 'b': one INSTANCE at a time"),
    (["ssh", "box", "ls"],
     "unexpected argument 'ls': put -- before the command"),
    (["ssh", "-N"], "option '-N' needs -L or -R"),
    (["ssh", "-NL8888:localhost:8888", "--", "ls"],
     "option '-N' takes no command"),
    (["ssh", "-L", "nonsense"],
     "bad -L forward 'nonsense': expected [BIND:]PORT:HOST:HOSTPORT "
     "(ports 1-65535)"),
    (["ssh", "-l"], "option '-l' needs a value"),
    (["cp", "-rxp", "a", "b:c"], "unknown option '-x' in '-rxp'"),
    (["cp", "-rp", "a"], "need SRC... and DST"),
    (["cp", "-", "a", "b"],
     "copy either to an instance (SRC... INSTANCE:PATH) or from one "
     "(INSTANCE:PATH... DST)"),
    (["test", "--dir="], "option '--dir' must not be empty"),
    (["test", "a", "b"], "unexpected argument 'b': one INSTANCE at a time"),
    (["stop", "--yes"], "unknown option '--yes'"),
    (["start", "-y"], "unknown option '-y'"),
    (["start", "--snapshot"], "unknown option '--snapshot'"),
    (["stop", "--timeout=soon"], "option '--timeout' needs a whole number, "
     "not 'soon'"),
    (["terminate", "--timeout=0", "--yes"],
     "option '--timeout' must be 1 to 604800, not '0'"),
    (["images"], "missing the PATTERN"),
    (["images", "a", "b"], "unexpected argument 'b': one PATTERN at a time"),
    (["images", "x", "--owner=bob"],
     "option '--owner' must be self, amazon or all, not 'bob'"),
    (["rules", "a", "b"], "unexpected argument 'b': one INSTANCE at a time"),
    (["rules", "--allow-world"],
     "options '--description' and '--allow-world' go with add"),
    (["rules", "remove", "in", "tcp", "22", "1.2.3.4/32", "--description=x"],
     "option '--description' goes with add only"),
    (["rules", "add", "in", "tcp"],
     "add needs in|out PROTO PORTS CIDR [INSTANCE]"),
    (["api"], "missing the ACTION"),
    (["api", "DescribeRegions", "novalue"], "'novalue' is not KEY=VALUE"),
])
def test_usage_errors_have_one_shape(sim, args, message):
    before = requests(sim)
    usage(gpuctl(sim, *args), args[0], message)
    assert requests(sim) == before


def test_checks_with_their_own_hint(sim):
    p = gpuctl(sim, "terminate", "--timeout=30", "i-0123456789abcdef0",
               input=b"")
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr == (
        "gpuctl: terminate: refusing to terminate without confirmation: "
        "stdin is not a terminal\n"
        "hint: pass --yes to terminate without being asked\n")
    p = gpuctl(sim, "rules", "add", "in", "tcp", "22", "0.0.0.0/0", "box")
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr.startswith(
        "gpuctl: rules: refusing to open port 22 to the whole internet "
        "(0.0.0.0/0)\nhint: allow only your address")


def no_credentials(sim):
    env = dict(sim.env)
    del env["AWS_ACCESS_KEY_ID"]
    del env["AWS_SECRET_ACCESS_KEY"]
    return env


@pytest.mark.parametrize("bad, good", [
    (["launch", "--ami=vict0rsch-1.0", "--type=g2.2xlarge", "--count=101"],
     ["launch", "--ami=vict0rsch-1.0", "--type=g2.2xlarge", "--wait=none"]),
    (["list", "--state=gone"], ["list", "--state=running"]),
    (["show", "a", "b"], ["show", "a"]),
    (["ssh", "a", "b"], ["ssh", "a", "--", "b"]),
    (["cp", "-rpx", "a", ":b"], ["cp", "-rpq", "a", ":b"]),
    (["test", "--dir="], ["test", "--dir=t"]),
    (["stop", "--snapshot"], ["stop", "--wait"]),
    (["start", "--timeout=0"], ["start", "--timeout=30"]),
    (["terminate", "--timeout=x", "--yes"], ["terminate", "--yes"]),
    (["images", "a", "b"], ["images", "a"]),
    (["rules", "add", "in", "tcp", "22", "0.0.0.0/0"],
     ["rules", "add", "in", "tcp", "22", "10.0.0.0/8"]),
    (["ssh-config", "-i"], ["ssh-config", "-ikey"]),
    (["api", "Describe-Regions"], ["api", "DescribeRegions"]),
])
def test_usage_before_credentials(sim, bad, good):
    env = no_credentials(sim)
    p = gpuctl(sim, *bad, env=env)
    assert p.returncode == 2, p.stderr
    assert re.match(rf"gpuctl: {bad[0]}: .*\nhint: see 'gpuctl help "
                    rf"{bad[0]}'\n$|gpuctl: rules: refusing", p.stderr)
    p = gpuctl(sim, *good, env=env)
    assert p.returncode == 3, p.stderr
    assert "no credentials" in p.stderr


def test_doctor_reports_missing_credentials_itself(sim):
    env = no_credentials(sim)
    usage(gpuctl(sim, "doctor", "a", "b", env=env), "doctor",
          "unexpected argument 'b': one INSTANCE at a time")
    p = gpuctl(sim, "doctor", "--output=text", env=env)
    assert p.returncode == 1, p.stderr
    assert re.search(r"^credentials\tFAIL\t.*no credentials", p.stdout, re.M)


def test_equals_forms_and_globals_after_the_name(sim):
    env = dict(sim.env, GPUCTL_CALLER_IP="127.0.0.1")
    p = ok(gpuctl(sim, "launch", "--type=g2.2xlarge", "--ami=vict0rsch-1.0",
                  "--wait=none", "--name=opts-box", "--volume-size=20",
                  "--key-type=ed25519", "--count=1", "-q",
                  "--region=us-west-1", env=env))
    iid = p.stdout.strip()
    assert re.fullmatch(r"i-[0-9a-f]{8,17}", iid), p.stdout
    assert p.stderr == ""
    st = sim.state()["us-west-1"]
    assert st["instances"][iid]["tags"]["Name"] == "opts-box"
    assert [v["size"] for v in st["volumes"].values()
            if v["instance"] == iid] == [20]
    # --state accumulates, comma lists and repeats alike
    p = ok(gpuctl(sim, "list", "--state=pending,running", "--state",
                  "stopped", "--output=json"))
    assert iid in [i["instanceId"] for i in json.loads(p.stdout)["instances"]]
    p = ok(gpuctl(sim, "list", "--output", "json", "--state=terminated"))
    assert iid not in [i["instanceId"]
                       for i in json.loads(p.stdout)["instances"]]
    p = ok(gpuctl(sim, "show", "opts-box", "--output=json", "-q"))
    assert json.loads(p.stdout)["instanceId"] == iid
    p = ok(gpuctl(sim, "images", "vict0rsch-*", "--owner=all",
                  "--output=json"))
    assert "vict0rsch-1.0" in [i["name"] for i in json.loads(p.stdout)["images"]]
    # PROTO -1 and PORTS '-' are words, not options
    p = ok(gpuctl(sim, "rules", "add", "in", "-1", "-", "203.0.113.0/24",
                  iid, "--description=any"))
    assert p.stdout.split("\t")[2:5] == ["all", "all", "203.0.113.0/24"]
    p = ok(gpuctl(sim, "rules", iid, "--output=text"))
    assert "\tall\tall\t203.0.113.0/24\tany\n" in p.stdout
    ok(gpuctl(sim, "rules", "remove", "in", "all", "-", "203.0.113.0/24",
              "--", iid))
    p = ok(gpuctl(sim, "terminate", "--timeout=60", iid, "-qy", "--wait"))
    assert p.stdout == iid + "\n"
    assert sim.state()["us-west-1"]["instances"][iid]["state"] == "terminated"
