"""IAM Identity Center (SSO) profiles (issue 16): sso-session sections and the
legacy per-profile settings; the token `aws sso login` caches is exchanged at
the portal (the simulator's GetRoleCredentials), the role credentials are
cached as the AWS CLI caches them and shared with it; an expired or refused
login says to run `aws sso login --profile NAME` (exit 3)."""
import json

from creds_helpers import CredsHome, botocore_sso_key, ec2_callers, mode

START = "https://d-example.awsapps.com/start"
SESSION = f"""[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin
[sso-session corp]
sso_start_url = {START}
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""
LEGACY = f"""[profile old]
sso_start_url = {START}
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = ReadOnly
"""


def test_sso_session_profile_and_the_shared_cache(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(SESSION, "")
    h.sso_token("corp", "ssotoken-corp-1")
    before = h.count("GetRoleCredentials")
    p = h.gpuctl("--profile", "sso", "doctor")
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'IAM Identity Center (SSO) profile "sso" (account 123456789012, role Admin)' \
        in p.stdout
    assert h.count("GetRoleCredentials") == before + 1
    mine = ec2_callers(h.callers(), "DescribeAccountAttributes")[-1]
    assert "AWSReservedSSO_Admin" in mine["arn"]
    files = h.cache_files()
    assert [f.stem for f in files] == [botocore_sso_key(START, "Admin", "123456789012",
                                                        "corp")]
    assert mode(files[0]) == 0o600
    assert json.loads(files[0].read_text())["ProviderType"] == "sso"
    # the AWS CLI takes the same session from the cache
    a = h.aws("--profile", "sso", "ec2", "describe-regions")
    assert a.returncode == 0, a.stderr
    assert h.count("GetRoleCredentials") == before + 1
    assert ec2_callers(h.callers())[-1]["access_key"] == mine["access_key"]


def test_legacy_sso_profile_aws_cli_first(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(LEGACY, "")
    h.sso_token(START, "ssotoken-legacy")
    before = h.count("GetRoleCredentials")
    a = h.aws("--profile", "old", "ec2", "describe-regions")
    assert a.returncode == 0, a.stderr
    theirs = ec2_callers(h.callers())[-1]
    assert h.count("GetRoleCredentials") == before + 1
    p = h.gpuctl("--profile", "old", "api", "DescribeRegions")
    assert p.returncode == 0, p.stderr
    assert h.count("GetRoleCredentials") == before + 1
    assert ec2_callers(h.callers())[-1]["access_key"] == theirs["access_key"]
    assert [f.stem for f in h.cache_files()] == [
        botocore_sso_key(START, "ReadOnly", "123456789012")]


def test_expired_login_says_aws_sso_login(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(SESSION, "")
    h.sso_token("corp", "ssotoken-corp-old", expires_in=-60)
    before = h.count("GetRoleCredentials")
    p = h.gpuctl("--profile", "sso", "api", "DescribeRegions")
    assert p.returncode == 3
    assert "expired" in p.stderr and "aws sso login --profile sso" in p.stderr
    assert "renewing it is the AWS CLI's job" in p.stderr
    assert "ssotoken" not in p.stderr
    assert h.count("GetRoleCredentials") == before


def test_no_login_and_a_refused_one(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(SESSION, "")
    p = h.gpuctl("--profile", "sso", "api", "DescribeRegions")
    assert p.returncode == 3 and "aws sso login --profile sso" in p.stderr
    h.sso_token("corp", "ssotoken-revoked-2")
    p = h.gpuctl("--profile", "sso", "api", "DescribeRegions")
    assert p.returncode == 3
    assert "has expired or is not valid" in p.stderr and "aws sso login" in p.stderr
    assert "ssotoken" not in p.stderr


def test_sso_portal_endpoint_variable(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write(SESSION, "")
    h.sso_token("corp", "ssotoken-corp-3")
    p = h.gpuctl("--profile", "sso", "--debug", "api", "DescribeRegions",
                 unset=["AWS_ENDPOINT_URL"],
                 extra_env={"AWS_ENDPOINT_URL_EC2": sim.url, "AWS_ENDPOINT_URL_SSO": sim.url})
    assert p.returncode == 0, p.stderr
    assert f"GetRoleCredentials at {sim.url} (AWS_ENDPOINT_URL_SSO)" in p.stderr


def test_incomplete_sso_profiles(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write("[profile a]\nsso_session = nowhere\nsso_account_id = 123456789012\n"
            "sso_role_name = Admin\n"
            "[profile b]\nsso_account_id = 123456789012\nsso_role_name = Admin\n"
            "[profile c]\nsso_session = corp\nsso_account_id = 123456789012\n"
            "sso_role_name = Admin\nsso_region = eu-west-1\n"
            f"[sso-session corp]\nsso_start_url = {START}\nsso_region = us-east-1\n", "")
    p = h.gpuctl("--profile", "a", "api", "DescribeRegions")
    assert p.returncode == 3 and 'sso_session "nowhere"' in p.stderr
    p = h.gpuctl("--profile", "b", "api", "DescribeRegions")
    assert p.returncode == 3 and "lacks sso_start_url, sso_region" in p.stderr
    p = h.gpuctl("--profile", "c", "api", "DescribeRegions")
    assert p.returncode == 3 and "sso_region differs" in p.stderr
