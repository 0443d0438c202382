"""The global options, parsed from one table (include/gpuctl/options.h):
before the command name and after it, "--opt value" and "--opt=value",
"--" ending them, and one message shape for a usage error (exit 2), which
comes before any credentials error (exit 3)."""
import json
import xml.etree.ElementTree as ET

import pytest

from conftest import SECRET_KEY
from gpuctl_helpers import gpuctl

NS = {"ec2": "http://ec2.amazonaws.com/doc/2016-11-15/"}


def zones(p):
    """The region of the zones an api call listed."""
    assert p.returncode == 0, p.stderr
    root = ET.fromstring(p.stdout)
    names = {z.text for z in root.iter("{%s}zoneName" % NS["ec2"])}
    assert names
    regions = {n[:-1] for n in names}
    assert len(regions) == 1, names
    return regions.pop()


@pytest.mark.parametrize("args", [
    ["--region", "us-east-1", "api", "DescribeAvailabilityZones"],
    ["--region=us-east-1", "api", "DescribeAvailabilityZones"],
    ["api", "DescribeAvailabilityZones", "--region", "us-east-1"],
    ["api", "--region=us-east-1", "DescribeAvailabilityZones"],
    ["--", "api", "DescribeAvailabilityZones", "--region=us-east-1"],
])
def test_region_before_and_after_the_command(sim, args):
    # the simulator's environment says us-west-1: the option wins
    assert zones(gpuctl(sim, *args)) == "us-east-1"


def test_region_equals_form_after_environment(sim):
    env = dict(sim.env, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1")
    assert zones(gpuctl(sim, "--region=us-west-1", "api",
                       "DescribeAvailabilityZones", env=env)) == "us-west-1"
    # the last one given wins, wherever it stands
    assert zones(gpuctl(sim, "--region=us-east-1", "api",
                       "DescribeAvailabilityZones", "--region", "us-west-1",
                       env=env)) == "us-west-1"


@pytest.mark.parametrize("args", [
    ["--output=json", "list"],
    ["--output", "json", "list"],
    ["list", "--output=json"],
    ["-q", "list", "--output", "json"],
])
def test_output_json_before_and_after(sim, args):
    p = gpuctl(sim, "--region=us-east-1", *args)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"instances": []}


def test_endpoint_and_profile_equals_forms(sim, tmp_path):
    env = dict(sim.env)
    del env["AWS_ENDPOINT_URL"]
    assert zones(gpuctl(sim, "--endpoint-url=" + sim.url, "api",
                       "DescribeAvailabilityZones", env=env)) == "us-west-1"
    # a profile that exists nowhere: a configuration error (exit 3)
    p = gpuctl(sim, "--profile=nosuchprofile", "list")
    assert p.returncode == 3, p.stderr
    assert "nosuchprofile" in p.stderr


def test_debug_twice_and_quiet_bundled(sim):
    p = gpuctl(sim, "--debug", "--no-color", "api", "DescribeRegions",
               "--debug")
    assert p.returncode == 0, p.stderr
    assert p.stderr and SECRET_KEY not in p.stderr
    # -q twice, bundled: as -q
    p = gpuctl(sim, "-qq", "--region=us-east-1", "list")
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stderr


def usage(p):
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stdout == ""
    return p.stderr


def top_level(message):
    """A usage error before the command name, as gpuctl prints it."""
    return f"gpuctl: {message}\nhint: see 'gpuctl --help'\n"


def test_unknown_global_option(sim):
    assert usage(gpuctl(sim, "--frobnicate", "list")) == top_level(
        "unknown option '--frobnicate'")
    assert usage(gpuctl(sim, "--frobnicate=3", "list")) == top_level(
        "unknown option '--frobnicate'")
    assert usage(gpuctl(sim, "-qx", "list")) == top_level(
        "unknown option '-x' in '-qx'")
    # after the command name, the command says it
    assert usage(gpuctl(sim, "list", "--frobnicate")) == (
        "gpuctl: list: unknown option '--frobnicate'\n"
        "hint: see 'gpuctl help list'\n")


def test_malformed_global_options(sim):
    assert usage(gpuctl(sim, "--region")) == top_level(
        "option '--region' needs a value")
    assert usage(gpuctl(sim, "--output=yaml", "list")) == top_level(
        "option '--output' must be text, json or table, not 'yaml'")
    assert usage(gpuctl(sim, "--quiet=yes", "list")) == top_level(
        "option '--quiet' takes no value")
    assert "is not a gpuctl command" in usage(gpuctl(sim, "-1"))
    assert "is not a gpuctl command" in usage(gpuctl(sim, "--", "--region"))


def test_usage_error_before_credentials(sim):
    env = dict(sim.env)
    del env["AWS_ACCESS_KEY_ID"]
    del env["AWS_SECRET_ACCESS_KEY"]
    assert gpuctl(sim, "--region=us-east-1", "list", env=env).returncode == 3
    assert "unknown option" in usage(gpuctl(sim, "--frobnicate", "list",
                                            env=env))
    assert "unknown option" in usage(gpuctl(sim, "list", "--frobnicate",
                                            env=env))


def test_help_and_version_end_the_options(sim):
    for args in (["--help"], ["-h"], ["--region", "x", "--help"],
                 ["--help", "--frobnicate"], ["-qh"]):
        p = gpuctl(sim, *args)
        assert p.returncode == 0, (args, p.stderr)
        assert p.stdout.startswith("usage: gpuctl [GLOBAL OPTIONS] COMMAND")
    p = gpuctl(sim, "--version", "--help")
    assert p.returncode == 0 and p.stdout.startswith("gpuctl ")
    assert "unknown option" in usage(gpuctl(sim, "--frobnicate", "--help"))
    p = gpuctl(sim, "--region=us-east-1", "help", "list")
    assert p.returncode == 0 and p.stdout.startswith("usage: gpuctl list")
