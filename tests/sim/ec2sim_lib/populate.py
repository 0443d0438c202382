"""Admin helpers for the benchmarks (bench/): many instances at once, and the
moment each sshd starts listening.

POST /_sim/populate {"region": "us-east-1", "count": 10000, "tags": {...},
                     "type": "g5.xlarge", "image": NAME-or-ID, "state": "running",
                     "name_prefix": "bench"}
creates COUNT instances directly in STATE (running or stopped), each in its own
reservation, with a root volume record, a public address in 198.18.0.0/15 (the
benchmarking range, RFC 2544) and no sshd, host key or files: they exist for the
API only (DescribeInstances, tags, stop/start/terminate move their states; they
never get an sshd).  Nothing else is slowed down by them: the clock skips them
while they sit in a steady state.
"""
import ipaddress
import threading
import time

from .errors import ApiError
from .model import TYPES, new_id

_NET = ipaddress.IPv4Network("198.18.0.0/15")


def populate(sim, cfg):
    """Creates the instances of cfg (see the module doc); returns a summary."""
    from .api import Obj  # late: api imports nothing from here

    if not isinstance(cfg, dict):
        raise ValueError("populate: a JSON object")
    region = cfg.get("region", "us-west-1")
    if region not in sim.regions:
        raise ValueError(f"populate: unknown region {region!r}")
    count = int(cfg.get("count", 1))
    if not 1 <= count <= 100000:
        raise ValueError("populate: count must be 1..100000")
    itype = cfg.get("type", "g5.xlarge")
    if itype not in TYPES:
        raise ValueError(f"populate: unknown instance type {itype!r}")
    state = cfg.get("state", "running")
    if state not in ("running", "stopped"):
        raise ValueError("populate: state must be running or stopped")
    tags = cfg.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in tags.items()):
        raise ValueError("populate: tags must map strings to strings")
    prefix = cfg.get("name_prefix")
    with sim.lock:
        reg = sim.regions[region]
        want = cfg.get("image")
        ims = [im for im in reg.images.values() if want in (None, im["id"], im["name"])]
        if not ims:
            raise ValueError(f"populate: no image {want!r} in {region}")
        im = ims[0]
        sub = list(reg.subnets.values())[0]
        base = getattr(reg, "_populated", 0)
        now = time.time()
        ids = []
        for k in range(count):
            n = base + k
            if n + 1 >= _NET.num_addresses:
                raise ApiError("InsufficientFreeAddressesInSubnet", "populate: out of addresses")
            iid, rid, vid = new_id("i"), new_id("r"), new_id("vol")
            sub.n += 1
            pip = f"172.31.{sub.base + (sub.n // 250) % 16}.{sub.n % 250 + 4}"
            hostname = "ip-" + pip.replace(".", "-")
            launch = now - 60 - (count - k)  # oldest first, a minute old or more
            i = Obj(id=iid, image=im["id"], type=itype, key=None, groups=[reg.default_group], subnet=sub.id,
                    az=sub.az, private_ip=pip, private_dns=f"{hostname}.{reg.name}.compute.internal",
                    ip=str(_NET[n + 1]), index=0, state=state, launch=launch, t_next=launch, token=None,
                    spot=False, user=im["user"], root_device=im["root"], dir=None, volumes=[vid],
                    reservation=rid, userdata=b"", console="", proc=None, ns=None, ssh_at=None,
                    running_at=launch, visible_at=0, no_sshd=True, populated=True)
            reg.volumes[vid] = Obj(id=vid, size=im["size"], type="gp3", az=sub.az, state="in-use",
                                   created=launch, snapshot=im["snapshot"], instance=iid, device=im["root"],
                                   attach_time=launch, dot=True, data=None)
            t = dict(tags)
            if prefix:
                t["Name"] = f"{prefix}-{n + 1:05d}"
            if t:
                reg.tags[iid] = t
            reg.instances[iid] = i
            reg.reservations[rid] = [iid]
            ids.append(iid)
        reg._populated = base + count
        total = sum(1 for x in reg.instances.values() if x.populated)
    return {"region": region, "created": count, "populated": total, "first": ids[0], "last": ids[-1]}


def _listen_hex(ip, port):
    a = ipaddress.IPv4Address(ip).packed
    return "%02X%02X%02X%02X:%04X" % (a[3], a[2], a[1], a[0], port)


def watch_listen(inst, ip, port, timeout=10.0):
    """Records in inst.ssh_listening_at the time (epoch seconds) its sshd's socket
    is in LISTEN state on ip:port, seen in /proc/net/tcp every millisecond (no
    connection is made, so the sshd sees nothing)."""
    want = _listen_hex(ip, port)

    def run():
        end = time.time() + timeout
        since = time.time()  # the socket was not listening before this
        while since < end and inst.ssh_at is not None:
            try:
                with open("/proc/net/tcp") as f:
                    f.readline()
                    for line in f:
                        p = line.split(None, 4)
                        if len(p) > 3 and p[1] == want and p[3] == "0A":
                            # the earliest it can have started: intervals
                            # measured from here are upper bounds
                            inst.ssh_listening_at = since
                            return
            except OSError:
                return
            since = time.time()
            time.sleep(0.001)

    inst.ssh_listening_at = None
    threading.Thread(target=run, name="listen-watch", daemon=True).start()
