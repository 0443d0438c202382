"""EC2 API semantics: idempotency, limits, pagination, regions, errors, tags."""
import subprocess

import pytest
from botocore.exceptions import ClientError

from simclient import client, signed

AL = "al2023-ami-2023.6.20241010.0-kernel-6.1-x86_64"


def code(exc):
    return exc.value.response["Error"]["Code"]


def image(sim, name=AL, region="us-west-1"):
    return sim.state()[region]["images"][name]


def test_client_token_idempotency(sim):
    ec2 = client(sim)
    kw = dict(ImageId=image(sim), InstanceType="t3.micro", MinCount=1, MaxCount=1, ClientToken="tok-1")
    a = ec2.run_instances(**kw)
    b = ec2.run_instances(**kw)
    assert a["ReservationId"] == b["ReservationId"]
    assert a["Instances"][0]["InstanceId"] == b["Instances"][0]["InstanceId"]
    assert b["Instances"][0]["ClientToken"] == "tok-1"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(**dict(kw, InstanceType="t3.small"))
    assert code(e) == "IdempotentParameterMismatch"
    assert client(sim, region="us-east-1").run_instances(
        **dict(kw, ImageId=image(sim, region="us-east-1")))["ReservationId"] != a["ReservationId"]


def test_vcpu_limit(sim_factory):
    s = sim_factory(vcpu_limit=8, boot_delay=0.2, ssh_delay=0.1)
    ec2 = client(s)
    run = dict(ImageId=image(s), MinCount=1, MaxCount=1)
    ids = [ec2.run_instances(InstanceType="g4dn.xlarge", **run)["Instances"][0]["InstanceId"] for _ in range(2)]
    with pytest.raises(ClientError) as e:
        ec2.run_instances(InstanceType="g5.xlarge", **run)
    assert code(e) == "VcpuLimitExceeded"
    assert "current vCPU limit of 8 allows" in e.value.response["Error"]["Message"]
    ec2.run_instances(InstanceType="t3.micro", **run)  # not in the G/VT/P bucket
    ec2.run_instances(InstanceType="g4dn.xlarge", InstanceMarketOptions={"MarketType": "spot"}, **run)
    ec2.terminate_instances(InstanceIds=ids[:1])
    ec2.run_instances(InstanceType="g5.xlarge", **run)
    s.admin("/_sim/config", {"vcpu_limit": 0})
    with pytest.raises(ClientError) as e:
        ec2.run_instances(InstanceType="p3.2xlarge", **run)
    assert code(e) == "VcpuLimitExceeded"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(InstanceType="g9.huge", **run)
    assert code(e) == "InvalidParameterValue" and "'g9.huge' for InstanceType" in e.value.response["Error"]["Message"]


def test_pagination(sim):
    ec2 = client(sim, region="us-east-1")
    ec2.run_instances(ImageId=image(sim, region="us-east-1"), InstanceType="t3.micro", MinCount=7, MaxCount=7,
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "batch", "Value": "p"}]}])
    flt = [{"Name": "tag:batch", "Values": ["p"]}]
    first = ec2.describe_instances(Filters=flt, MaxResults=5)
    n1 = sum(len(r["Instances"]) for r in first["Reservations"])
    assert n1 == 5 and first["NextToken"]
    second = ec2.describe_instances(Filters=flt, MaxResults=5, NextToken=first["NextToken"])
    assert sum(len(r["Instances"]) for r in second["Reservations"]) == 2 and "NextToken" not in second
    ids = {i["InstanceId"] for p in (first, second) for r in p["Reservations"] for i in r["Instances"]}
    assert len(ids) == 7
    pages = list(ec2.get_paginator("describe_instances").paginate(Filters=flt, PaginationConfig={"PageSize": 5}))
    assert len(pages) == 2
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(MaxResults=3)
    assert code(e) == "InvalidParameterValue"


def test_regions_have_own_images(sim, aws):
    west = aws("describe-images", "--filters", "Name=name,Values=vict0rsch-1.0")["Images"]
    east = aws("describe-images", "--filters", "Name=name,Values=vict0rsch-1.0", region="us-east-1")["Images"]
    assert len(west) == 1 and east == []
    assert aws("describe-images", "--owners", "self")["Images"][0]["OwnerId"] == "123456789012"
    al = aws("describe-images", "--owners", "amazon", "--filters", "Name=name,Values=al2023-*",
             region="us-east-1")["Images"]
    assert len(al) == 1 and al[0]["ImageOwnerAlias"] == "amazon"
    assert al[0]["ImageId"] != aws("describe-images", "--filters", "Name=name,Values=al2023-*")["Images"][0]["ImageId"]
    zones = [z["ZoneName"] for z in aws("describe-availability-zones")["AvailabilityZones"]]
    assert zones == ["us-west-1a", "us-west-1c"]
    assert aws("describe-vpcs")["Vpcs"][0]["IsDefault"] is True
    assert len(aws("describe-subnets", "--filters", "Name=default-for-az,Values=true")["Subnets"]) == 2
    attrs = aws("describe-account-attributes")["AccountAttributes"]
    assert {a["AttributeName"] for a in attrs} >= {"max-instances", "default-vpc", "supported-platforms"}


@pytest.mark.parametrize("params,status,err", [
    ({"Action": "LaunchRocket"}, 400, "InvalidAction"),
    ({"Action": "DescribeInstances", "InstanceId.1": "i-xyz"}, 400, "InvalidInstanceID.Malformed"),
    ({"Action": "DescribeInstances", "InstanceId.1": "i-0123456789abcdef0"}, 400, "InvalidInstanceID.NotFound"),
    ({"Action": "TerminateInstances", "InstanceId.1": "i-0123456789abcdef0"}, 400, "InvalidInstanceID.NotFound"),
    ({"Action": "DescribeImages", "ImageId.1": "ami-0123456789abcdef0"}, 400, "InvalidAMIID.NotFound"),
    ({"Action": "RunInstances", "ImageId": "ami-0123456789abcdef0", "MinCount": "1", "MaxCount": "1"}, 400,
     "InvalidAMIID.NotFound"),
    ({"Action": "RunInstances", "ImageId": "bogus", "MinCount": "1", "MaxCount": "1"}, 400, "InvalidAMIID.Malformed"),
    ({"Action": "DescribeKeyPairs", "KeyName.1": "nope"}, 400, "InvalidKeyPair.NotFound"),
    ({"Action": "CreateSecurityGroup", "GroupName": "x"}, 400, "MissingParameter"),
    ({"Action": "DescribeInstances", "Filter.1.Name": "bogus-filter", "Filter.1.Value.1": "x"}, 400,
     "InvalidParameterValue"),
    ({"Action": "DescribeVolumes", "VolumeId.1": "vol-0123456789abcdef0"}, 400, "InvalidVolume.NotFound"),
    ({"Action": "DescribeSnapshots", "SnapshotId.1": "snap-0123456789abcdef0"}, 400, "InvalidSnapshot.NotFound"),
])
def test_error_codes(sim, params, status, err):
    a = signed(sim, params)
    assert (a.status, a.code) == (status, err), a


def test_instance_state_errors_and_status(sim):
    ec2 = client(sim)
    iid = ec2.run_instances(ImageId=image(sim), InstanceType="t3.micro", MinCount=1,
                            MaxCount=1)["Instances"][0]["InstanceId"]
    st = ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)["InstanceStatuses"][0]
    assert st["InstanceState"]["Name"] in ("pending", "running")
    ec2.terminate_instances(InstanceIds=[iid])
    with pytest.raises(ClientError) as e:
        ec2.start_instances(InstanceIds=[iid])
    assert code(e) == "IncorrectInstanceState"
    with pytest.raises(ClientError) as e:
        ec2.stop_instances(InstanceIds=[iid])
    assert code(e) == "IncorrectInstanceState"


def test_security_groups(sim):
    ec2 = client(sim)
    gid = ec2.create_security_group(GroupName="gpuctl-test-1", Description="d")["GroupId"]
    with pytest.raises(ClientError) as e:
        ec2.create_security_group(GroupName="gpuctl-test-1", Description="d")
    assert code(e) == "InvalidGroup.Duplicate"
    perm = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8",
                                                                            "Description": "ssh <&>"}]}]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perm)
    with pytest.raises(ClientError) as e:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perm)
    assert code(e) == "InvalidPermission.Duplicate"
    g = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["gpuctl-test-1"]}])["SecurityGroups"][0]
    assert g["IpPermissions"][0]["IpRanges"][0]["Description"] == "ssh <&>"
    iid = ec2.run_instances(ImageId=image(sim), InstanceType="t3.micro", MinCount=1, MaxCount=1,
                            SecurityGroupIds=[gid])["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as e:
        ec2.delete_security_group(GroupId=gid)
    assert code(e) == "DependencyViolation"
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=perm)
    with pytest.raises(ClientError) as e:
        ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=perm)
    assert code(e) == "InvalidPermission.NotFound"
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 0.2})
    ec2.delete_security_group(GroupId=gid)


def test_tags_and_keys(sim, tmp_path):
    ec2 = client(sim)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    pub = (tmp_path / "k.pub").read_bytes()
    k = ec2.import_key_pair(KeyName="imported", PublicKeyMaterial=pub)
    assert k["KeyPairId"].startswith("key-")
    assert ec2.describe_key_pairs(KeyPairIds=[k["KeyPairId"]])["KeyPairs"][0]["KeyName"] == "imported"
    iid = ec2.run_instances(ImageId=image(sim), InstanceType="t3.micro", MinCount=1, MaxCount=1,
                            KeyName="imported")["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "Name", "Value": "héllo <wörld> & 日本"}, {"Key": "gpuctl", "Value": ""}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"Name": "héllo <wörld> & 日本", "gpuctl": ""}
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["héllo*"]}])["Reservations"]
    assert found[0]["Instances"][0]["InstanceId"] == iid
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "gpuctl"}])
    assert len(ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]) == 1
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=["i-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}])
    assert code(e) == "InvalidInstanceID.NotFound"
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 0.2})
    out = ec2.get_console_output(InstanceId=iid)["Output"]
    assert "-----BEGIN SSH HOST KEY FINGERPRINTS-----" in out
