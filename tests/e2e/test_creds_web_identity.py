"""Web identity (issue 16): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or a
profile's web_identity_token_file + role_arn, exchanged by an unsigned STS
AssumeRoleWithWebIdentity; cached like the AWS CLI, which reaches the same
identity."""
import base64
import json

from creds_helpers import CredsHome, botocore_role_key, ec2_callers, role


def jwt(sub="system:serviceaccount:default:gpuctl"):
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'RS256'})}.{enc({'sub': sub, 'aud': 'sts.amazonaws.com'})}.c2ln"


def test_web_identity_from_the_environment(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write("", "")
    tok = tmp_path / "token"
    tok.write_text(jwt())
    env = {"AWS_WEB_IDENTITY_TOKEN_FILE": str(tok), "AWS_ROLE_ARN": role("pod"),
           "AWS_ROLE_SESSION_NAME": "pod-1"}
    before = h.count("AssumeRoleWithWebIdentity")
    p = h.gpuctl("doctor", extra_env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "web identity" in p.stdout and str(tok) in p.stdout
    assert h.count("AssumeRoleWithWebIdentity") == before + 1
    mine = ec2_callers(h.callers(), "DescribeAccountAttributes")[-1]
    assert mine["arn"] == "arn:aws:sts::123456789012:assumed-role/pod/pod-1"
    assert [f.stem for f in h.cache_files()] == [
        botocore_role_key(role("pod"), RoleSessionName="pod-1")]
    # the AWS CLI: the same identity, from the same cache entry
    a = h.aws("ec2", "describe-regions", extra_env=env)
    assert a.returncode == 0, a.stderr
    assert h.count("AssumeRoleWithWebIdentity") == before + 1
    assert ec2_callers(h.callers())[-1]["access_key"] == mine["access_key"]


def test_web_identity_from_a_profile(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    tok = tmp_path / "token"
    tok.write_text(jwt())
    h.write(f"[profile wi]\nweb_identity_token_file = {tok}\nrole_arn = {role('wi')}\n", "")
    a = h.aws("--profile", "wi", "ec2", "describe-regions")
    assert a.returncode == 0, a.stderr
    theirs = ec2_callers(h.callers())[-1]
    for f in h.cache_files():
        f.unlink()
    p = h.gpuctl("--profile", "wi", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    mine = ec2_callers(h.callers())[-1]
    assert mine["access_key"] != theirs["access_key"]
    assert mine["arn"].startswith("arn:aws:sts::123456789012:assumed-role/wi/")
    assert theirs["arn"].startswith("arn:aws:sts::123456789012:assumed-role/wi/")
    # a token file written with a final newline (echo TOKEN > file) works
    tok.write_text(jwt() + "\n")
    for f in h.cache_files():
        f.unlink()
    p = h.gpuctl("--profile", "wi", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr


def test_web_identity_errors(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write("", "")
    tok = tmp_path / "token"
    tok.write_text("not-a-jwt")
    p = h.gpuctl("api", "DescribeRegions", extra_env={
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(tok), "AWS_ROLE_ARN": role("pod")})
    assert p.returncode == 4 and "InvalidIdentityToken" in p.stderr, p.stderr
    assert "not-a-jwt" not in p.stderr
    p = h.gpuctl("api", "DescribeRegions", extra_env={"AWS_WEB_IDENTITY_TOKEN_FILE": str(tok)})
    assert p.returncode == 3 and "AWS_ROLE_ARN" in p.stderr
    p = h.gpuctl("api", "DescribeRegions", extra_env={
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "nothing"), "AWS_ROLE_ARN": role("pod")})
    assert p.returncode == 3 and "cannot read the web identity token file" in p.stderr
