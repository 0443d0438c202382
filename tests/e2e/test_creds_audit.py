"""The secrets audit (test_audit.py's) for the new credential sources: with
--debug --debug, no secret key, session token, SSO access token, web identity token, container
token or IMDS token, in any form, reaches stdout or stderr, and none lands in
a file but the AWS CLI's own caches (0600)."""
import os
import stat
from pathlib import Path
from urllib.parse import quote

import pytest

from creds_helpers import SECRET_KEY, CredsHome, role
from test_creds_web_identity import jwt

SSO_TOKEN = "ssotoken-audit-0123456789abcdefXYZ/+="


def forms(s):
    return {s, quote(s, safe=""), quote(s, safe="-_.~"), s.replace("/", "%2F")}


def setup_source(h, sim, tmp_path, source):
    """Files and variables for one source; returns (args, extra env, unset,
    the secrets the test itself handed over)."""
    if source == "assume-role":
        h.write(f"[profile a]\nrole_arn = {role('audit')}\nsource_profile = base\n")
        return ["--profile", "a"], {}, [], []
    if source == "sso":
        h.write("[profile s]\nsso_session = corp\nsso_account_id = 123456789012\n"
                "sso_role_name = Admin\n[sso-session corp]\n"
                "sso_start_url = https://d-example.awsapps.com/start\nsso_region = us-east-1\n", "")
        h.sso_token("corp", SSO_TOKEN)
        return ["--profile", "s"], {}, [], [SSO_TOKEN]
    h.write("", "")
    if source == "web-identity":
        tok = jwt("audit")
        f = tmp_path / "wi-token"
        f.write_text(tok)
        return [], {"AWS_WEB_IDENTITY_TOKEN_FILE": str(f), "AWS_ROLE_ARN": role("wi")}, [], [tok]
    if source == "container":
        tok = sim.admin("/_sim/identity")["container_token"]
        f = tmp_path / "ct-token"
        f.write_text(tok)
        return [], {"AWS_CONTAINER_CREDENTIALS_FULL_URI": sim.url + "/v2/credentials/x",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(f)}, [], [tok]
    return [], {"AWS_EC2_METADATA_SERVICE_ENDPOINT": sim.url}, ["AWS_EC2_METADATA_DISABLED"], []


@pytest.mark.parametrize("source", ["assume-role", "sso", "web-identity", "container", "imds"])
def test_no_secret_from_the_new_sources(sim, tmp_path, source):
    h = CredsHome(sim, tmp_path)
    args, extra, unset, mine = setup_source(h, sim, tmp_path, source)
    d = ["--debug", "--debug"]
    runs = []
    sim.admin("/_sim/identity", {"duration": 2})  # short: no command reuses a session
    try:
        for cmd in (["api", "DescribeRegions"], ["doctor"], ["list", "--all"],
                    ["images", "vict0rsch*"], ["api", "DescribeRegions"]):
            p = h.gpuctl(*d, *args, *cmd, extra_env=extra, unset=unset)
            assert p.returncode in (0, 1), (cmd, p.stderr[-2000:])
            runs.append((cmd, p))
    finally:
        sim.admin("/_sim/identity", {"duration": None})
    got = sim.admin("/_sim/issued-secrets")
    secrets = [SECRET_KEY] + mine + got["tokens"]
    for c in got["credentials"]:
        secrets += [c["secret_key"], c["token"]]
    words = set()
    for s in secrets:
        words |= forms(s)
    assert any("DescribeRegions" in p.stderr for _, p in runs)  # really verbose
    leaks = [(cmd, w) for cmd, p in runs for w in words if w in p.stdout or w in p.stderr]
    assert not leaks, leaks
    # files: only the AWS CLI's caches (ours, 0600) and what the test wrote
    allowed = {h.aws_dir / "cli" / "cache", h.aws_dir / "sso" / "cache"}
    for dirpath, _, names in os.walk(h.home):
        for n in names:
            f = Path(dirpath, n)
            data = f.read_text(errors="replace")
            held = [w for w in words if w in data]
            if f.parent in allowed:
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
            elif f not in (h.credentials, h.config):
                assert not held, (f, held)
    if source in ("assume-role", "sso", "web-identity"):
        assert h.cache_files()
