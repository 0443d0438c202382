"""Where gpuctl runs on AWS itself (issue 16): the container credentials
endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI, its token from the variable or
a file, the hosts it may name) and IMDSv2 (a token PUT, then the role's
credentials; the region when nothing else names one; off with
AWS_EC2_METADATA_DISABLED).  Every endpoint is the simulator on 127.0.0.1:
no test reaches a real metadata address."""
from creds_helpers import CredsHome, ec2_callers


def container_env(sim, token):
    return {"AWS_CONTAINER_CREDENTIALS_FULL_URI": sim.url + "/v2/credentials/abc",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": token}


def test_container_endpoint_with_a_token(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write("", "")
    token = sim.admin("/_sim/identity")["container_token"]
    env = container_env(sim, token)
    before = h.count("ContainerCredentials")
    p = h.gpuctl("doctor", extra_env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI)" in p.stdout
    assert h.count("ContainerCredentials") == before + 1
    mine = ec2_callers(h.callers(), "DescribeAccountAttributes")[-1]
    assert mine["via"] == "container"
    assert mine["arn"].startswith("arn:aws:sts::123456789012:assumed-role/gpuctl-task-role/")
    # the AWS CLI, same place, same identity
    a = h.aws("ec2", "describe-regions", extra_env=env)
    assert a.returncode == 0, a.stderr
    theirs = ec2_callers(h.callers())[-1]
    assert theirs["via"] == "container" and theirs["arn"] == mine["arn"]


def test_container_token_file_and_refusals(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write("", "")
    token = sim.admin("/_sim/identity")["container_token"]
    f = tmp_path / "token"
    f.write_text(token)
    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": sim.url + "/v1/credentials",
           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(f),
           "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored-when-the-file-is-set"}
    p = h.gpuctl("api", "DescribeRegions", extra_env=env)
    assert p.returncode == 0, p.stderr
    f.write_text("wrong-token")
    p = h.gpuctl("api", "DescribeRegions", extra_env=env)
    assert p.returncode == 3 and "answered HTTP 401" in p.stderr, p.stderr
    assert "wrong-token" not in p.stderr
    f.write_text(token + "\n")
    p = h.gpuctl("api", "DescribeRegions", extra_env=env)
    assert p.returncode == 3 and "line break" in p.stderr


def test_container_full_uri_hosts(sim, tmp_path):
    """http only to loopback and the ECS/EKS link-local hosts: anything else
    is refused before a connection is made (192.0.2.1 is TEST-NET-1)."""
    h = CredsHome(sim, tmp_path)
    h.write("", "")
    for url in ("http://192.0.2.1/creds", "http://example.com/creds", "ftp://127.0.0.1/x"):
        p = h.gpuctl("api", "DescribeRegions",
                     extra_env={"AWS_CONTAINER_CREDENTIALS_FULL_URI": url})
        assert p.returncode == 3, (url, p.stderr)
        assert "is not a URL gpuctl may fetch credentials from" in p.stderr
        assert "169.254.170.23" in p.stderr
    localhost = sim.url.replace("127.0.0.1", "localhost") + "/v2/credentials/x"
    p = h.gpuctl("api", "DescribeRegions", extra_env=container_env(sim, "x") | {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": localhost})
    assert p.returncode == 3 and "answered HTTP 401" in p.stderr  # allowed, then refused


def imds_env(sim):
    return {"AWS_EC2_METADATA_SERVICE_ENDPOINT": sim.url + "/"}


def test_imds_credentials_and_region(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write("", "")
    sim.admin("/_sim/identity", {"imds_region": "us-east-1"})
    try:
        before = h.count("IMDSToken")
        p = h.gpuctl("doctor", extra_env=imds_env(sim),
                     unset=["AWS_EC2_METADATA_DISABLED", "AWS_DEFAULT_REGION"])
        assert p.returncode == 0, p.stdout + p.stderr
        assert "instance metadata (role gpuctl-instance-role" in p.stdout
        assert "region us-east-1 (instance metadata" in p.stdout
        assert h.count("IMDSToken") >= before + 2  # region, then credentials
        mine = ec2_callers(h.callers(), "DescribeAccountAttributes")[-1]
        assert mine["via"] == "imds"
        # the AWS CLI: the same instance role
        a = h.aws("ec2", "describe-regions", extra_env=imds_env(sim),
                  unset=["AWS_EC2_METADATA_DISABLED"])
        assert a.returncode == 0, a.stderr
        theirs = ec2_callers(h.callers())[-1]
        assert theirs["via"] == "imds" and theirs["arn"] == mine["arn"]
    finally:
        sim.admin("/_sim/identity", {"imds_region": "us-west-1"})


def test_imds_disabled_is_never_asked(sim, tmp_path):
    h = CredsHome(sim, tmp_path)
    h.write("", "")
    before = h.count("IMDSToken") + h.count("IMDS")
    p = h.gpuctl("api", "DescribeRegions",
                 extra_env=dict(imds_env(sim), AWS_EC2_METADATA_DISABLED="TRUE"))
    assert p.returncode == 3 and "no credentials found" in p.stderr
    assert h.count("IMDSToken") + h.count("IMDS") == before


def test_no_imds_is_not_an_error(sim, tmp_path):
    """A laptop: nothing answers at the metadata address (here a closed
    loopback port): the chain just ends with 'no credentials'."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    h = CredsHome(sim, tmp_path)
    h.write("", "")
    p = h.gpuctl("api", "DescribeRegions", unset=["AWS_EC2_METADATA_DISABLED"],
                 extra_env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{port}"})
    assert p.returncode == 3 and "no credentials found" in p.stderr
    assert "instance metadata" in p.stderr
