"""Profiles, caches and the AWS CLI for the credentials tests
(tests/e2e/test_creds_*.py).

CredsHome(sim, tmp) is one user's home: ~/.aws/config, ~/.aws/credentials,
the AWS CLI's caches, an environment without keys that points gpuctl (and the
AWS CLI) at the simulator for EC2, STS, the SSO portal and nothing real.

The AWS CLI v2 in Debian 12 (2.9.19) predates AWS_ENDPOINT_URL_<SERVICE>:
its STS and SSO clients are pointed at the simulator through AWS_DATA_PATH, a
folder of endpoint rule sets that send every request of those services to the
simulator's URL (the CLI's own mechanism for service data, no patching).
"""
import hashlib
import json
import os
import stat
import subprocess
import time
from pathlib import Path

from gpuctl_helpers import GPUCTL

AWS = "/usr/bin/aws"
AWSCLI_DATA = Path("/usr/lib/python3/dist-packages/awscli/botocore/data")
ACCOUNT = "123456789012"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
BASE_CREDENTIALS = (f"[base]\naws_access_key_id = {ACCESS_KEY}\n"
                    f"aws_secret_access_key = {SECRET_KEY}\n")


def role(name):
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def data_path(sim, where):
    """An AWS_DATA_PATH folder whose STS and SSO endpoints are the simulator."""
    d = Path(where)
    for svc in ("sts/2011-06-15", "sso/2019-06-10"):
        rules = json.loads((AWSCLI_DATA / svc / "endpoint-rule-set-1.json").read_text())
        rules["rules"] = [{"conditions": [], "type": "endpoint",
                           "endpoint": {"url": sim.url, "properties": {}, "headers": {}}}]
        (d / svc).mkdir(parents=True, exist_ok=True)
        (d / svc / "endpoint-rule-set-1.json").write_text(json.dumps(rules))
    return str(d)


class CredsHome:
    def __init__(self, sim, tmp, name="home"):
        self.sim = sim
        self.home = Path(tmp) / name
        self.aws_dir = self.home / ".aws"
        self.aws_dir.mkdir(parents=True, exist_ok=True)
        self.config = self.aws_dir / "config"
        self.credentials = self.aws_dir / "credentials"
        self.env = dict(sim.env, HOME=str(self.home),
                        XDG_CONFIG_HOME=str(self.home / ".config"),
                        XDG_STATE_HOME=str(self.home / ".local" / "state"),
                        AWS_CONFIG_FILE=str(self.config),
                        AWS_SHARED_CREDENTIALS_FILE=str(self.credentials),
                        AWS_DATA_PATH=data_path(sim, Path(tmp) / f"{name}-data"))
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
            self.env.pop(k, None)
        self.env["AWS_DEFAULT_REGION"] = "us-west-1"

    # ---- files ---------------------------------------------------------------------------
    def write(self, config="", credentials=BASE_CREDENTIALS):
        self.config.write_text(config)
        self.credentials.write_text(credentials)
        self.credentials.chmod(0o600)

    def cache_dir(self):
        return self.aws_dir / "cli" / "cache"

    def cache_files(self):
        d = self.cache_dir()
        return sorted(d.glob("*.json")) if d.is_dir() else []

    def sso_token(self, key_source, token, expires_in=3600, region="us-east-1",
                  start_url="https://d-example.awsapps.com/start"):
        """Writes the token `aws sso login` would cache for a session name
        (or a start URL, legacy)."""
        d = self.aws_dir / "sso" / "cache"
        d.mkdir(parents=True, exist_ok=True)
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + expires_in))
        f = d / (hashlib.sha1(key_source.encode()).hexdigest() + ".json")
        f.write_text(json.dumps({"startUrl": start_url, "region": region,
                                 "accessToken": token, "expiresAt": when}))
        f.chmod(0o600)
        return f

    # ---- running -------------------------------------------------------------------------
    def gpuctl(self, *args, extra_env=None, unset=(), timeout=120, stdin=subprocess.DEVNULL):
        env = dict(self.env, **(extra_env or {}))
        for k in unset:
            env.pop(k, None)
        p = subprocess.run([GPUCTL, *map(str, args)], env=env, capture_output=True,
                           timeout=timeout, stdin=stdin, start_new_session=True)
        p.stdout = p.stdout.decode("utf-8", "surrogateescape")
        p.stderr = p.stderr.decode("utf-8", "surrogateescape")
        return p

    def aws(self, *args, extra_env=None, unset=(), timeout=120):
        """The AWS CLI v2 with this home, EC2 at the simulator."""
        env = dict(self.env, **(extra_env or {}))
        for k in unset:
            env.pop(k, None)
        return subprocess.run([AWS, "--endpoint-url", self.sim.url, "--output", "json",
                               *map(str, args)], env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, start_new_session=True)

    # ---- the simulator's records ---------------------------------------------------------
    def callers(self):
        return self.sim.admin("/_sim/callers")

    def count(self, action):
        return self.sim.stats()["requests"].get(action, 0)


def ec2_callers(callers, action="DescribeRegions"):
    return [c for c in callers if c["service"] == "ec2" and c["action"] == action]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _awscli_python(code, *args):
    """Runs code with the AWS CLI's own botocore (in a process of its own:
    the tests' process has imported the system botocore under that name)."""
    p = subprocess.run(["/usr/bin/python3", "-c", "import awscli, sys, json\n" + code,
                        *map(str, args)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def botocore_role_key(role_arn, **extra):
    """The AWS CLI's cache key for an AssumeRole with these arguments."""
    return _awscli_python(
        "from botocore.credentials import AssumeRoleCredentialFetcher as F\n"
        "f = F(client_creator=None, source_credentials=None, role_arn=sys.argv[1],\n"
        "      extra_args=json.loads(sys.argv[2]), cache={})\n"
        "print(f._cache_key)", role_arn, json.dumps(extra))


def botocore_sso_key(start_url, role_name, account_id, session_name=None):
    """The AWS CLI's cache key for an SSO profile's role credentials."""
    return _awscli_python(
        "from botocore.credentials import SSOCredentialFetcher as F\n"
        "a = json.loads(sys.argv[1])\n"
        "f = F(a[0], 'us-east-1', a[1], a[2], client_creator=None, cache={},\n"
        "      sso_session_name=a[3])\n"
        "print(f._cache_key)", json.dumps([start_url, role_name, account_id, session_name]))
