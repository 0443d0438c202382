"""Static data: accounts, images, zones, instance types, and small helpers."""
import functools
import hashlib
import re
import secrets
import time

ACCOUNT = "123456789012"
AMAZON = "137112412989"
DLAMI_OWNER = "898082745236"
CANONICAL = "099720109477"
COMMUNITY = "979382823631"

ZONES = {
    "us-west-1": [("us-west-1a", "usw1-az3"), ("us-west-1c", "usw1-az1")],
    "us-east-1": [(f"us-east-1{c}", f"use1-az{i + 1}") for i, c in enumerate("abcdef")],
}

# type -> (vCPUs, counted in the G/VT/P On-Demand bucket)
TYPES = {}
for _n, _v in {"t2.micro": 1, "t2.small": 1, "t2.medium": 2, "t3.nano": 2, "t3.micro": 2, "t3.small": 2,
               "t3.medium": 2, "t3.large": 2, "t3.xlarge": 4, "m1.small": 1, "m5.large": 2, "m5.xlarge": 4,
               "m5.2xlarge": 8, "c5.large": 2, "c5.xlarge": 4, "c5.2xlarge": 8, "r5.large": 2}.items():
    TYPES[_n] = (_v, False)
for _n, _v in {"g2.2xlarge": 8, "g2.8xlarge": 32, "g3s.xlarge": 4, "g3.4xlarge": 16, "g3.8xlarge": 32,
               "g4dn.xlarge": 4, "g4dn.2xlarge": 8, "g4dn.4xlarge": 16, "g4dn.8xlarge": 32, "g4dn.12xlarge": 48,
               "g4dn.16xlarge": 64, "g4dn.metal": 96, "g5.xlarge": 4, "g5.2xlarge": 8, "g5.4xlarge": 16,
               "g5.12xlarge": 48, "g5.48xlarge": 192, "g6.xlarge": 4, "g6.2xlarge": 8, "g6.12xlarge": 48,
               "vt1.3xlarge": 12, "p2.xlarge": 4, "p2.8xlarge": 32, "p3.2xlarge": 8, "p3.8xlarge": 32,
               "p3.16xlarge": 64, "p4d.24xlarge": 96, "p5.48xlarge": 192}.items():
    TYPES[_n] = (_v, True)


def _img(name, owner, alias, user, desc, date, root="/dev/sda1", size=8, location=None):
    return dict(name=name, owner=owner, alias=alias, user=user, description=desc, date=date,
                root=root, size=size, location=location or f"{alias or owner}/{name}")


def images_for(region):
    imgs = [
        _img("al2023-ami-2023.6.20241010.0-kernel-6.1-x86_64", AMAZON, "amazon", "ec2-user",
             "Amazon Linux 2023 AMI 2023.6.20241010.0 x86_64 HVM kernel-6.1", "2024-10-10T21:11:06.000Z",
             root="/dev/xvda"),
        _img("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241004", CANONICAL, None, "ubuntu",
             "Canonical, Ubuntu, 24.04, amd64 noble image", "2024-10-04T06:28:47.000Z"),
        _img("gpuctl-custom-ubuntu-20241101", ACCOUNT, None, "ubuntu",
             "Ubuntu 22.04 image baked by this account for gpuctl", "2024-11-01T12:00:00.000Z", size=100),
    ]
    for d, iso in (("20240601", "2024-06-01"), ("20240815", "2024-08-15"), ("20241010", "2024-10-10")):
        imgs.append(_img(f"Deep Learning AMI GPU PyTorch 2.3 (Ubuntu 22.04) {d}", DLAMI_OWNER, "amazon", "ubuntu",
                         "Supported EC2 instances: G4dn, G5, G6, Gr6, G6e, P4d, P4de, P5. PyTorch-2.3 with "
                         "CUDA 12.1, NVIDIA driver, Ubuntu 22.04", f"{iso}T08:30:00.000Z", size=75))
    if region == "us-west-1":
        imgs.append(_img("vict0rsch-1.0", COMMUNITY, None, "ubuntu",
                         "Ubuntu 16.04 with CUDA 8.0, cuDNN 6, TensorFlow and PyTorch (vict0rsch GPU tutorial)",
                         "2017-10-23T14:07:31.000Z", size=8))
    for im in imgs:
        h = hashlib.sha256(f"{region}/{im['name']}".encode()).hexdigest()
        im["id"] = "ami-" + h[:17]
        im["snapshot"] = "snap-" + h[17:34]
    return imgs


def new_id(prefix):
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


ID_RE = {p: re.compile(rf"^{p}-([0-9a-f]{{8}}|[0-9a-f]{{17}})$")
         for p in ("i", "ami", "vol", "snap", "sg", "key", "vpc", "subnet", "r")}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


@functools.lru_cache(maxsize=4096)
def _glob_rx(pattern):
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


def glob_match(pattern, value):
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    return _glob_rx(pattern).fullmatch(value) is not None


STATES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
