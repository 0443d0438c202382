"""EC2 actions over an in-memory, per-region state."""
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import host, populate
from .errors import ApiError
from .model import (ACCOUNT, ID_RE, STATES, TYPES, ZONES, glob_match, images_for, iso, new_id)


class Params:
    """EC2 query parameters (flattened: Filter.1.Value.2 = x)."""

    def __init__(self, d):
        self.d = d

    def get(self, k, default=None):
        return self.d.get(k, default)

    def req(self, k):
        v = self.d.get(k)
        if v is None or v == "":
            raise ApiError("MissingParameter", f"The request must contain the parameter {k}")
        return v

    def int(self, k, default=None):
        v = self.d.get(k)
        if v is None:
            return default
        try:
            return int(v)
        except ValueError:
            raise ApiError("InvalidParameterValue", f"Invalid value '{v}' for {k}")

    def bool(self, k, default=False):
        v = self.d.get(k)
        return default if v is None else v.lower() == "true"

    def groups(self, prefix):
        """[Params] for prefix.N.rest keys, ordered by N."""
        out = {}
        pre = prefix + "."
        for k, v in self.d.items():
            if k.startswith(pre):
                n, _, rest = k[len(pre):].partition(".")
                if n.isdigit():
                    out.setdefault(int(n), {})[rest] = v
        return [Params(out[n]) for n in sorted(out)]

    def list(self, prefix):
        return [g.get("") for g in self.groups(prefix) if g.get("") is not None]

    def filters(self):
        return [(g.req("Name"), g.list("Value")) for g in self.groups("Filter")]


def tagset(tags):
    return [{"key": k, "value": v} for k, v in tags.items()]


def apply_filters(items, filters, fields, tags_of=None, known=()):
    """Keep the items matching every filter; fields(item) -> {name: value or [values]}."""
    out = []
    for f, _ in filters:
        if not (f in known or f.startswith("tag:") or f in ("tag-key", "tag-value")):
            raise ApiError("InvalidParameterValue", f"The filter '{f}' is invalid")
    for it in items:
        fv = fields(it)
        tags = tags_of(it) if tags_of else {}
        ok = True
        for name, pats in filters:
            if name.startswith("tag:"):
                vals = [tags[name[4:]]] if name[4:] in tags else []
            elif name == "tag-key":
                vals = list(tags)
            elif name == "tag-value":
                vals = list(tags.values())
            else:
                v = fv.get(name)
                vals = [] if v is None else [str(x).lower() if isinstance(x, bool) else str(x)
                                             for x in (v if isinstance(v, list) else [v])]
            if not any(glob_match(p, v) for p in pats for v in vals):
                ok = False
                break
        if ok:
            out.append(it)
    return out


def check_ids(kind, ids, code):
    for i in ids:
        if not ID_RE[kind].match(i):
            raise ApiError(code, f'Invalid id: "{i}"')


class Obj(dict):
    __getattr__ = dict.get

    def __setattr__(self, k, v):
        self[k] = v


class Region:
    def __init__(self, name, root):
        self.name = name
        self.root = root
        self.images = {im["id"]: im for im in images_for(name)}
        self.zones = ZONES[name]
        self.vpc = "vpc-" + hashlib.sha256(f"vpc/{name}".encode()).hexdigest()[:17]
        self.subnets = {}
        for i, (z, zid) in enumerate(self.zones):
            sid = "subnet-" + hashlib.sha256(f"subnet/{name}/{z}".encode()).hexdigest()[:17]
            self.subnets[sid] = Obj(id=sid, az=z, zone_id=zid, cidr=f"172.31.{16 * i}.0/20", base=16 * i, n=0)
        self.keys, self.groups, self.instances, self.volumes, self.snapshots = {}, {}, {}, {}, {}
        self.reservations, self.tokens, self.tags = {}, {}, {}
        gid = "sg-" + hashlib.sha256(f"sg/{name}".encode()).hexdigest()[:17]
        self.groups[gid] = Obj(id=gid, name="default", desc="default VPC security group", vpc=self.vpc,
                               ingress=[], egress=[("-1", None, None, "0.0.0.0/0", None)])
        self.default_group = gid


def perms_from(p, prefix="IpPermissions"):
    rules = []
    top = p.get("IpProtocol")
    groups = p.groups(prefix)
    if top and not groups:  # legacy flat form
        groups = [Params({"IpProtocol": top, "FromPort": p.get("FromPort"), "ToPort": p.get("ToPort"),
                          "IpRanges.1.CidrIp": p.get("CidrIp") or "0.0.0.0/0"})]
    for g in groups:
        proto = (g.get("IpProtocol") or "").lower()
        proto = {"all": "-1", "6": "tcp", "17": "udp", "1": "icmp"}.get(proto, proto)
        if proto not in ("-1", "tcp", "udp", "icmp", "icmpv6"):
            raise ApiError("InvalidParameterValue", f"Invalid value '{proto}' for IP protocol. Unknown protocol.")
        fp, tp = (None, None) if proto == "-1" else (g.int("FromPort"), g.int("ToPort"))
        if proto in ("tcp", "udp") and (fp is None or tp is None):
            raise ApiError("InvalidParameterValue", "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange")
        if proto in ("tcp", "udp") and not (0 <= fp <= tp <= 65535):
            raise ApiError("InvalidParameterValue", f"Invalid value '{fp}-{tp}' for portRange")
        ranges = g.groups("IpRanges")
        if not ranges:
            raise ApiError("MissingParameter", "No CIDR ranges specified (only IpRanges are supported by the simulator)")
        for r in ranges:
            cidr = r.req("CidrIp")
            if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}/\d{1,2}", cidr):
                raise ApiError("InvalidParameterValue", f"CIDR block {cidr} is malformed")
            rules.append((proto, fp, tp, cidr, r.get("Description")))
    if not rules:
        raise ApiError("MissingParameter", "The request must contain the parameter IpPermissions")
    return rules


def perms_xml(rules):
    out = {}
    for proto, fp, tp, cidr, desc in rules:
        e = out.setdefault((proto, fp, tp), {"ipProtocol": proto, "fromPort": fp, "toPort": tp, "groups": [],
                                             "ipRanges": [], "ipv6Ranges": [], "prefixListIds": []})
        e["ipRanges"].append({"cidrIp": cidr, "description": desc})
    return list(out.values())


def rule_text(r):
    proto, fp, tp, cidr, _ = r
    return (f'peer: {cidr}, {"ALL" if proto == "-1" else proto.upper()}, from port: {fp}, '
            f"to port: {tp}, ALLOW")


class Sim:
    def __init__(self, state_dir, faults, boot_delay=2.0, ssh_delay=1.0, vcpu_limit=64, stop_delay=None,
                 snapshot_delay=2.0, ssh_port=22, sshd_options=None, log=None):
        self.lock = threading.RLock()
        self.root = Path(state_dir)
        self.faults = faults
        self.cfg = dict(boot_delay=boot_delay, ssh_delay=ssh_delay, vcpu_limit=vcpu_limit,
                        stop_delay=stop_delay, snapshot_delay=snapshot_delay,
                        sshd_options=dict(sshd_options or {}))
        self.ssh_port = ssh_port
        self.log = log or (lambda m: print("ec2sim: " + m, file=sys.stderr, flush=True))
        self.regions = {r: Region(r, self.root / r) for r in ZONES}
        self.stats = {}
        self.pool = host.AddressPool(ssh_port)
        self.root_ok = host.os.geteuid() == 0
        self.stopping = threading.Event()
        self.ticker = threading.Thread(target=self._tick_loop, name="ticker", daemon=True)
        self.ticker.start()

    # ---- dispatch ----------------------------------------------------------------------
    def call(self, region, action, params):
        fn = getattr(self, "a_" + action, None)
        if fn is None or not action[:1].isupper():
            raise ApiError("InvalidAction", f"The action {action} is not valid for this web service.")
        with self.lock:
            self.stats[action] = self.stats.get(action, 0) + 1
            return fn(self.regions[region], Params(params))

    @property
    def stop_delay(self):
        d = self.cfg["stop_delay"]
        return max(0.2, self.cfg["boot_delay"] / 2) if d is None else d

    # ---- lookup helpers ----------------------------------------------------------------
    def _visible(self, inst):
        return time.time() >= (inst.visible_at or 0)

    def _instances(self, reg, ids):
        check_ids("i", ids, "InvalidInstanceID.Malformed")
        missing = [i for i in ids if i not in reg.instances or not self._visible(reg.instances[i])]
        if missing:
            if len(missing) == 1:
                raise ApiError("InvalidInstanceID.NotFound", f"The instance ID '{missing[0]}' does not exist")
            raise ApiError("InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(missing)}' do not exist")
        return [reg.instances[i] for i in dict.fromkeys(ids)]

    def _tag_specs(self, p, allowed):
        out = {}
        for ts in p.groups("TagSpecification"):
            rt = ts.req("ResourceType")
            if rt not in allowed:
                raise ApiError("InvalidParameterValue",
                               f"'{rt}' is not a valid taggable resource type for this operation.")
            out.setdefault(rt, {}).update(self._tags_from(ts))
        return out

    def _tags_from(self, p, need_value=False):
        tags = {}
        for t in p.groups("Tag"):
            k = t.get("Key")
            if k is None:
                raise ApiError("InvalidParameterValue", "Tag key must be specified")
            if k.lower().startswith("aws:"):
                raise ApiError("InvalidParameterValue",
                               "Tag keys starting with 'aws:' are reserved for internal use")
            if len(k) > 128 or len(t.get("Value") or "") > 256:
                raise ApiError("InvalidParameterValue", "Tag key or value too long")
            tags[k] = t.get("Value", "") or ""
        return tags

    def _set_tags(self, reg, rid, tags):
        cur = reg.tags.setdefault(rid, {})
        cur.update(tags)
        if len(cur) > 50:
            raise ApiError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")

    def _tags(self, reg, rid):
        return reg.tags.get(rid, {})

    def _page(self, items, p, what="maxResults"):
        mr = p.int("MaxResults")
        tok = p.get("NextToken")
        start = 0
        if tok:
            try:
                start = json.loads(base64.b64decode(tok))["o"]
            except Exception:
                raise ApiError("InvalidParameterValue", f"The token '{tok}' is invalid.")
        if mr is None:
            return items[start:], None
        if not 5 <= mr <= 1000:
            raise ApiError("InvalidParameterValue",
                           f"Value ( {mr} ) for parameter {what} is invalid. Expecting a value greater than 5.")
        nxt = None
        if start + mr < len(items):
            nxt = base64.b64encode(json.dumps({"o": start + mr, "n": new_id("p")}).encode()).decode()
        return items[start:start + mr], nxt

    # ---- regions, zones, account ---------------------------------------------------------
    def a_DescribeRegions(self, reg, p):
        names = p.list("RegionName")
        for n in names:
            if n not in self.regions:
                raise ApiError("InvalidParameterValue", f"Invalid region: {n}")
        items = [{"regionName": r, "regionEndpoint": f"ec2.{r}.amazonaws.com", "optInStatus": "opt-in-not-required"}
                 for r in self.regions if not names or r in names]
        items = apply_filters(items, p.filters(), lambda i: {"region-name": i["regionName"],
                              "endpoint": i["regionEndpoint"], "opt-in-status": i["optInStatus"]},
                              known=("region-name", "endpoint", "opt-in-status"))
        return {"regionInfo": items}

    def a_DescribeAvailabilityZones(self, reg, p):
        names = p.list("ZoneName")
        items = [{"zoneName": z, "zoneState": "available", "regionName": reg.name, "zoneId": zid,
                  "messageSet": [], "optInStatus": "opt-in-not-required", "groupName": reg.name,
                  "networkBorderGroup": reg.name, "zoneType": "availability-zone"}
                 for z, zid in reg.zones if not names or z in names]
        for n in names:
            if n not in [z for z, _ in reg.zones]:
                raise ApiError("InvalidParameterValue", f"Invalid availability zone: [{n}]")
        items = apply_filters(items, p.filters(), lambda i: {"zone-name": i["zoneName"], "zone-id": i["zoneId"],
                              "state": "available", "region-name": reg.name, "zone-type": "availability-zone"},
                              known=("zone-name", "zone-id", "state", "region-name", "zone-type"))
        return {"availabilityZoneInfo": items}

    def a_DescribeAccountAttributes(self, reg, p):
        attrs = {"supported-platforms": ["VPC"], "vpc-max-security-groups-per-interface": ["5"],
                 "max-elastic-ips": ["5"], "max-instances": ["20"], "vpc-max-elastic-ips": ["5"],
                 "default-vpc": [reg.vpc]}
        names = p.list("AttributeName") or list(attrs)
        for n in names:
            if n not in attrs:
                raise ApiError("InvalidParameterValue", f"Invalid value '{n}' for attributeName")
        return {"accountAttributeSet": [{"attributeName": n, "attributeValueSet":
                                         [{"attributeValue": v} for v in attrs[n]]} for n in names]}

    # ---- images ----------------------------------------------------------------------------
    def _image_xml(self, reg, im):
        return {"imageId": im["id"], "imageLocation": im["location"], "imageState": "available",
                "imageOwnerId": im["owner"], "creationDate": im["date"], "isPublic": im["owner"] != ACCOUNT,
                "architecture": "x86_64", "imageType": "machine", "sriovNetSupport": "simple",
                "imageOwnerAlias": im["alias"], "name": im["name"], "description": im["description"],
                "rootDeviceType": "ebs", "rootDeviceName": im["root"],
                "blockDeviceMapping": [{"deviceName": im["root"], "ebs": {
                    "snapshotId": im["snapshot"], "volumeSize": im["size"], "deleteOnTermination": True,
                    "volumeType": "gp3", "encrypted": False}}],
                "virtualizationType": "hvm", "tagSet": tagset(self._tags(reg, im["id"])), "hypervisor": "xen",
                "enaSupport": True, "platformDetails": "Linux/UNIX", "usageOperation": "RunInstances",
                "bootMode": "uefi-preferred"}

    def a_DescribeImages(self, reg, p):
        ids = p.list("ImageId")
        check_ids("ami", ids, "InvalidAMIID.Malformed")
        missing = [i for i in ids if i not in reg.images]
        if missing:
            raise ApiError("InvalidAMIID.NotFound", f"The image id '[{', '.join(missing)}]' does not exist")
        imgs = [reg.images[i] for i in ids] if ids else list(reg.images.values())
        owners = p.list("Owner")
        if owners:
            imgs = [im for im in imgs if any(
                (o == "self" and im["owner"] == ACCOUNT) or o == im["owner"] or (o == im["alias"] and o)
                for o in owners)]
        imgs = apply_filters(imgs, p.filters(), lambda im: {
            "name": im["name"], "image-id": im["id"], "owner-alias": im["alias"], "owner-id": im["owner"],
            "state": "available", "architecture": "x86_64", "is-public": im["owner"] != ACCOUNT,
            "root-device-type": "ebs", "root-device-name": im["root"], "virtualization-type": "hvm",
            "description": im["description"], "platform-details": "Linux/UNIX", "image-type": "machine",
            "hypervisor": "xen", "block-device-mapping.volume-type": "gp3"},
            lambda im: self._tags(reg, im["id"]),
            known=("name", "image-id", "owner-alias", "owner-id", "state", "architecture", "is-public",
                   "root-device-type", "root-device-name", "virtualization-type", "description",
                   "platform-details", "image-type", "hypervisor", "block-device-mapping.volume-type"))
        return {"imagesSet": [self._image_xml(reg, im) for im in imgs]}

    # ---- key pairs --------------------------------------------------------------------------
    def _keygen(self, kind):
        with tempfile.TemporaryDirectory(dir=self.root) as d:
            path = Path(d) / "k"
            host.keygen(path, "", kind)
            priv = path.read_text()
            pub = (Path(d) / "k.pub").read_text().strip()
            fp = self._fp_created(path, pub, kind)
        return priv, pub, fp

    @staticmethod
    def _blob(pub):
        return base64.b64decode(pub.split()[1])

    def _fp_created(self, path, pub, kind):
        if kind == "ed25519":
            return base64.b64encode(hashlib.sha256(self._blob(pub)).digest()).decode()
        try:  # AWS: SHA-1 of the PKCS#8 DER private key
            der = subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", str(path), "-outform", "DER"],
                                 capture_output=True, check=True).stdout
            h = hashlib.sha1(der).hexdigest()
        except (OSError, subprocess.CalledProcessError):
            h = hashlib.md5(self._blob(pub)).hexdigest()
        return ":".join(h[i:i + 2] for i in range(0, len(h), 2))

    def _new_key(self, reg, p, name, pub, fp, kind):
        if name in reg.keys:
            raise ApiError("InvalidKeyPair.Duplicate", f"The keypair '{name}' already exists.")
        kid = new_id("key")
        reg.keys[name] = Obj(id=kid, name=name, pub=pub, fp=fp, type=kind, created=time.time())
        tags = self._tag_specs(p, ("key-pair",)).get("key-pair", {})
        if tags:
            self._set_tags(reg, kid, tags)
        return reg.keys[name]

    def a_CreateKeyPair(self, reg, p):
        name = p.req("KeyName")
        kind = (p.get("KeyType") or "rsa").lower()
        if kind not in ("rsa", "ed25519"):
            raise ApiError("InvalidParameterValue", f"Invalid value '{kind}' for KeyType.")
        if (p.get("KeyFormat") or "pem").lower() != "pem":
            raise ApiError("InvalidParameterValue", "Only the pem key format is supported by the simulator.")
        if len(name) > 255:
            raise ApiError("InvalidParameterValue", "Key name too long")
        if name in reg.keys:
            raise ApiError("InvalidKeyPair.Duplicate", f"The keypair '{name}' already exists.")
        priv, pub, fp = self._keygen(kind)
        k = self._new_key(reg, p, name, pub, fp, kind)
        return {"keyName": name, "keyFingerprint": fp, "keyMaterial": priv, "keyPairId": k.id,
                "tagSet": tagset(self._tags(reg, k.id))}

    def a_ImportKeyPair(self, reg, p):
        name = p.req("KeyName")
        raw = p.req("PublicKeyMaterial")
        try:
            pub = base64.b64decode(raw, validate=True).decode().strip()
        except Exception:
            pub = raw.strip()
        parts = pub.split()
        if len(parts) < 2 or parts[0] not in ("ssh-rsa", "ssh-ed25519"):
            raise ApiError("InvalidKeyPair.Format", "Key is not in valid OpenSSH public key format")
        try:
            blob = self._blob(pub)
        except Exception:
            raise ApiError("InvalidKeyPair.Format", "Key is not in valid OpenSSH public key format")
        kind = "rsa" if parts[0] == "ssh-rsa" else "ed25519"
        if kind == "rsa":
            h = hashlib.md5(blob).hexdigest()
            fp = ":".join(h[i:i + 2] for i in range(0, 32, 2))
        else:
            fp = base64.b64encode(hashlib.sha256(blob).digest()).decode()
        k = self._new_key(reg, p, name, " ".join(parts[:2]), fp, kind)
        return {"keyName": name, "keyFingerprint": fp, "keyPairId": k.id, "tagSet": tagset(self._tags(reg, k.id))}

    def a_DescribeKeyPairs(self, reg, p):
        names, ids = p.list("KeyName"), p.list("KeyPairId")
        keys = list(reg.keys.values())
        for n in names:
            if n not in reg.keys:
                raise ApiError("InvalidKeyPair.NotFound", f"The key pair '{n}' does not exist")
        byid = {k.id: k for k in keys}
        for i in ids:
            if i not in byid:
                raise ApiError("InvalidKeyPair.NotFound", f"The key pair ID '{i}' does not exist")
        if names or ids:
            keys = [k for k in keys if k.name in names or k.id in ids]
        keys = apply_filters(keys, p.filters(), lambda k: {"key-name": k.name, "key-pair-id": k.id,
                             "fingerprint": k.fp, "key-type": k.type}, lambda k: self._tags(reg, k.id),
                             known=("key-name", "key-pair-id", "fingerprint", "key-type"))
        pubs = p.bool("IncludePublicKey")
        return {"keySet": [{"keyPairId": k.id, "keyType": k.type, "tagSet": tagset(self._tags(reg, k.id)),
                            "publicKey": (k.pub + "\n") if pubs else None, "keyName": k.name,
                            "keyFingerprint": k.fp, "createTime": iso(k.created)} for k in keys]}

    def a_DeleteKeyPair(self, reg, p):
        name, kid = p.get("KeyName"), p.get("KeyPairId")
        if not name and not kid:
            raise ApiError("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
        for k in list(reg.keys.values()):
            if k.name == name or k.id == kid:
                del reg.keys[k.name]
                reg.tags.pop(k.id, None)
                return {"return": True, "keyPairId": k.id}
        if kid and not name:
            raise ApiError("InvalidKeyPair.NotFound", f"The key pair ID '{kid}' does not exist")
        return {"return": True}

    # ---- VPC, subnets, security groups ----------------------------------------------------
    def a_DescribeVpcs(self, reg, p):
        ids = p.list("VpcId")
        check_ids("vpc", ids, "InvalidVpcID.Malformed")
        for i in ids:
            if i != reg.vpc:
                raise ApiError("InvalidVpcID.NotFound", f"The vpc ID '{i}' does not exist")
        items = apply_filters([reg.vpc], p.filters(), lambda v: {"vpc-id": v, "is-default": True, "isDefault": True,
                              "state": "available", "cidr": "172.31.0.0/16", "owner-id": ACCOUNT},
                              lambda v: self._tags(reg, v),
                              known=("vpc-id", "is-default", "isDefault", "state", "cidr", "owner-id"))
        return {"vpcSet": [{"vpcId": v, "ownerId": ACCOUNT, "state": "available", "cidrBlock": "172.31.0.0/16",
                            "cidrBlockAssociationSet": [{"cidrBlock": "172.31.0.0/16",
                                                         "associationId": "vpc-cidr-assoc-" + v[4:],
                                                         "cidrBlockState": {"state": "associated"}}],
                            "dhcpOptionsId": "dopt-" + v[4:], "instanceTenancy": "default", "isDefault": True,
                            "tagSet": tagset(self._tags(reg, v))} for v in items]}

    def a_DescribeSubnets(self, reg, p):
        ids = p.list("SubnetId")
        check_ids("subnet", ids, "InvalidSubnetID.Malformed")
        for i in ids:
            if i not in reg.subnets:
                raise ApiError("InvalidSubnetID.NotFound", f"The subnet ID '{i}' does not exist")
        subs = [reg.subnets[i] for i in ids] if ids else list(reg.subnets.values())
        subs = apply_filters(subs, p.filters(), lambda s: {
            "subnet-id": s.id, "vpc-id": reg.vpc, "default-for-az": True, "defaultForAz": True,
            "availability-zone": s.az, "availabilityZone": s.az, "availability-zone-id": s.zone_id,
            "state": "available", "cidr-block": s.cidr, "owner-id": ACCOUNT, "map-public-ip-on-launch": True},
            lambda s: self._tags(reg, s.id),
            known=("subnet-id", "vpc-id", "default-for-az", "defaultForAz", "availability-zone",
                   "availabilityZone", "availability-zone-id", "state", "cidr-block", "owner-id",
                   "map-public-ip-on-launch"))
        return {"subnetSet": [{"subnetId": s.id, "subnetArn": f"arn:aws:ec2:{reg.name}:{ACCOUNT}:subnet/{s.id}",
                               "state": "available", "ownerId": ACCOUNT, "vpcId": reg.vpc, "cidrBlock": s.cidr,
                               "availableIpAddressCount": 4091, "availabilityZone": s.az,
                               "availabilityZoneId": s.zone_id, "defaultForAz": True, "mapPublicIpOnLaunch": True,
                               "assignIpv6AddressOnCreation": False, "ipv6CidrBlockAssociationSet": [],
                               "tagSet": tagset(self._tags(reg, s.id))} for s in subs]}

    def _group(self, reg, gid=None, name=None):
        if gid:
            check_ids("sg", [gid], "InvalidGroupId.Malformed")
            if gid in reg.groups:
                return reg.groups[gid]
            raise ApiError("InvalidGroup.NotFound", f"The security group '{gid}' does not exist")
        for g in reg.groups.values():
            if g.name == name:
                return g
        raise ApiError("InvalidGroup.NotFound",
                       f"The security group '{name}' does not exist in default VPC '{reg.vpc}'")

    def a_CreateSecurityGroup(self, reg, p):
        name, desc = p.req("GroupName"), p.req("GroupDescription")
        vpc = p.get("VpcId") or reg.vpc
        if vpc != reg.vpc:
            raise ApiError("InvalidVpcID.NotFound", f"The vpc ID '{vpc}' does not exist")
        if name.startswith("sg-"):
            raise ApiError("InvalidParameterValue", "Group names may not be in the format sg-*.")
        if len(name) > 255 or len(desc) > 255:
            raise ApiError("InvalidParameterValue", "Value for GroupName or GroupDescription is too long")
        if any(g.name == name for g in reg.groups.values()):
            raise ApiError("InvalidGroup.Duplicate", f"The security group '{name}' already exists for VPC '{vpc}'")
        tags = self._tag_specs(p, ("security-group",)).get("security-group", {})
        gid = new_id("sg")
        reg.groups[gid] = Obj(id=gid, name=name, desc=desc, vpc=vpc, ingress=[],
                              egress=[("-1", None, None, "0.0.0.0/0", None)])
        if tags:
            self._set_tags(reg, gid, tags)
        return {"return": True, "groupId": gid, "tagSet": tagset(tags) if tags else None}

    def a_DescribeSecurityGroups(self, reg, p):
        ids, names = p.list("GroupId"), p.list("GroupName")
        gs = [self._group(reg, gid=i) for i in ids] + [self._group(reg, name=n) for n in names]
        if not ids and not names:
            gs = list(reg.groups.values())
        gs = apply_filters(gs, p.filters(), lambda g: {"group-name": g.name, "group-id": g.id, "vpc-id": g.vpc,
                           "description": g.desc, "owner-id": ACCOUNT,
                           "ip-permission.from-port": [r[1] for r in g.ingress if r[1] is not None],
                           "ip-permission.to-port": [r[2] for r in g.ingress if r[2] is not None],
                           "ip-permission.cidr": [r[3] for r in g.ingress],
                           "ip-permission.protocol": [r[0] for r in g.ingress]},
                           lambda g: self._tags(reg, g.id),
                           known=("group-name", "group-id", "vpc-id", "description", "owner-id",
                                  "ip-permission.from-port", "ip-permission.to-port", "ip-permission.cidr",
                                  "ip-permission.protocol"))
        return {"securityGroupInfo": [self._sg_xml(reg, g) for g in {g.id: g for g in gs}.values()]}

    def _sg_xml(self, reg, g):
        return {"ownerId": ACCOUNT, "groupId": g.id, "groupName": g.name, "groupDescription": g.desc,
                "vpcId": g.vpc, "ipPermissions": perms_xml(g.ingress), "ipPermissionsEgress": perms_xml(g.egress),
                "tagSet": tagset(self._tags(reg, g.id))}

    def _sg_target(self, reg, p):
        if p.get("GroupId"):
            return self._group(reg, gid=p.get("GroupId"))
        if p.get("GroupName"):
            return self._group(reg, name=p.get("GroupName"))
        raise ApiError("MissingParameter", "The request must contain the parameter groupId or groupName")

    def _authorize(self, reg, p, attr):
        g = self._sg_target(reg, p)
        rules = perms_from(p)
        have = {r[:4] for r in g[attr]}
        for r in rules:
            if r[:4] in have:
                raise ApiError("InvalidPermission.Duplicate", f'the specified rule "{rule_text(r)}" already exists')
        g[attr] = g[attr] + rules
        return {"return": True, "securityGroupRuleSet": [{
            "securityGroupRuleId": new_id("sgr"), "groupId": g.id, "groupOwnerId": ACCOUNT,
            "isEgress": attr == "egress", "ipProtocol": r[0], "fromPort": -1 if r[1] is None else r[1],
            "toPort": -1 if r[2] is None else r[2], "cidrIpv4": r[3], "description": r[4]} for r in rules]}

    def _revoke(self, reg, p, attr):
        g = self._sg_target(reg, p)
        rules = perms_from(p)
        keys = {r[:4] for r in rules}
        have = {r[:4] for r in g[attr]}
        if not keys <= have:
            raise ApiError("InvalidPermission.NotFound",
                           "The specified rule does not exist in this security group.")
        g[attr] = [r for r in g[attr] if r[:4] not in keys]
        return {"return": True}

    def a_AuthorizeSecurityGroupIngress(self, reg, p):
        return self._authorize(reg, p, "ingress")

    def a_AuthorizeSecurityGroupEgress(self, reg, p):
        return self._authorize(reg, p, "egress")

    def a_RevokeSecurityGroupIngress(self, reg, p):
        return self._revoke(reg, p, "ingress")

    def a_RevokeSecurityGroupEgress(self, reg, p):
        return self._revoke(reg, p, "egress")

    def a_DeleteSecurityGroup(self, reg, p):
        g = self._sg_target(reg, p)
        if g.id == reg.default_group:
            raise ApiError("CannotDelete", f'the specified group: "{g.id}" name: "default" cannot be deleted by a user')
        if any(g.id in i.groups and i.state != "terminated" for i in reg.instances.values()):
            raise ApiError("DependencyViolation", f"resource {g.id} has a dependent object")
        del reg.groups[g.id]
        reg.tags.pop(g.id, None)
        return {"return": True, "groupId": g.id}

    # ---- instances ---------------------------------------------------------------------------
    def _inst_xml(self, reg, i):
        running = i.state in ("pending", "running")
        ip = i.ip if running else None
        return {
            "instanceId": i.id, "imageId": i.image, "instanceState": {"code": STATES[i.state], "name": i.state},
            "privateDnsName": i.private_dns, "dnsName": f"ec2-{ip.replace('.', '-')}.{reg.name}.compute.amazonaws.com"
            if ip else "", "reason": i.reason or "", "keyName": i.key, "amiLaunchIndex": i.index, "productCodes": [],
            "instanceType": i.type, "launchTime": iso(i.launch), "placement": {
                "availabilityZone": i.az, "groupName": "", "tenancy": "default"},
            "monitoring": {"state": "disabled"}, "subnetId": i.subnet if i.state != "terminated" else None,
            "vpcId": reg.vpc if i.state != "terminated" else None,
            "privateIpAddress": i.private_ip if i.state != "terminated" else None, "ipAddress": ip,
            "sourceDestCheck": True, "groupSet": [{"groupId": gid, "groupName": reg.groups[gid].name
                                                   if gid in reg.groups else "deleted"} for gid in i.groups],
            "stateReason": i.state_reason, "architecture": "x86_64", "rootDeviceType": "ebs",
            "rootDeviceName": i.root_device, "blockDeviceMapping": [] if i.state == "terminated" else [
                {"deviceName": v.device, "ebs": {"volumeId": v.id, "status": "attached",
                                                 "attachTime": iso(v.attach_time),
                                                 "deleteOnTermination": v.dot}}
                for v in (reg.volumes.get(x) for x in i.volumes) if v],
            "instanceLifecycle": "spot" if i.spot else None, "virtualizationType": "hvm",
            "clientToken": i.token or "", "tagSet": tagset(self._tags(reg, i.id)) if self._tags(reg, i.id) else None,
            "hypervisor": "xen", "networkInterfaceSet": [] if i.state == "terminated" else [{
                "networkInterfaceId": "eni-" + i.id[2:], "subnetId": i.subnet, "vpcId": reg.vpc,
                "ownerId": ACCOUNT, "status": "in-use", "privateIpAddress": i.private_ip,
                "privateDnsName": i.private_dns, "sourceDestCheck": True,
                "groupSet": [{"groupId": gid, "groupName": reg.groups[gid].name if gid in reg.groups else "deleted"}
                             for gid in i.groups],
                "attachment": {"attachmentId": "eni-attach-" + i.id[2:], "deviceIndex": 0, "status": "attached",
                               "attachTime": iso(i.launch), "deleteOnTermination": True},
                "association": {"publicIp": ip, "publicDnsName": "", "ipOwnerId": "amazon"} if ip else None,
                "privateIpAddressesSet": [{"privateIpAddress": i.private_ip, "privateDnsName": i.private_dns,
                                           "primary": True}],
                "interfaceType": "interface"}],
            "ebsOptimized": False, "enaSupport": True, "cpuOptions": {"coreCount": max(1, TYPES[i.type][0] // 2),
                                                                      "threadsPerCore": 2 if TYPES[i.type][0] > 1 else 1},
            "metadataOptions": {"state": "applied", "httpTokens": "required", "httpPutResponseHopLimit": 2,
                                "httpEndpoint": "enabled"},
            "platformDetails": "Linux/UNIX", "usageOperation": "RunInstances", "bootMode": "uefi",
            "currentInstanceBootMode": "uefi",
        }

    def _reservation_xml(self, reg, rid, insts):
        return {"reservationId": rid, "ownerId": ACCOUNT, "requesterId": None, "groupSet": [],
                "instancesSet": [self._inst_xml(reg, i) for i in insts]}

    def _gpu_vcpus(self, reg):
        return sum(TYPES[i.type][0] for i in reg.instances.values()
                   if TYPES[i.type][1] and not i.spot and i.state in ("pending", "running"))

    def _vcpu_check(self, reg, itype, n):
        v, gpu = TYPES[itype]
        lim = self.cfg["vcpu_limit"]
        if gpu and self._gpu_vcpus(reg) + v * n > lim:
            raise ApiError("VcpuLimitExceeded",
                           f"You have requested more vCPU capacity than your current vCPU limit of {lim} allows "
                           "for the instance bucket that the specified instance type belongs to. Please visit "
                           "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.")

    def _capacity(self, itype, az, reg, action):
        if self.faults.fire("capacity", action):
            other = [z for z, _ in reg.zones if z != az][0]
            raise ApiError("InsufficientInstanceCapacity",
                           f"We currently do not have sufficient {itype} capacity in the Availability Zone you "
                           f"requested ({az}). Our system will be working on provisioning additional capacity. "
                           f"You can currently get {itype} capacity by not specifying an Availability Zone in your "
                           f"request or choosing {other}.")

    def a_RunInstances(self, reg, p):
        token = p.get("ClientToken")
        sig = hashlib.sha256(json.dumps(sorted((k, v) for k, v in p.d.items() if k not in (
            "ClientToken", "Action", "Version") and not k.startswith("X-Amz-"))).encode()).hexdigest()
        if token:
            if len(token) > 64:
                raise ApiError("InvalidParameterValue", "Value for parameter ClientToken is too long (max 64)")
            if token in reg.tokens:
                psig, rid = reg.tokens[token]
                if psig != sig:
                    raise ApiError("IdempotentParameterMismatch", "Arguments on this idempotent request are "
                                   "inconsistent with arguments used in previous request(s).")
                return self._reservation_xml(reg, rid, [reg.instances[i] for i in reg.reservations[rid]])
        image_id = p.req("ImageId")
        check_ids("ami", [image_id], "InvalidAMIID.Malformed")
        if image_id not in reg.images:
            raise ApiError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
        im = reg.images[image_id]
        itype = p.get("InstanceType") or "m1.small"
        if itype not in TYPES:
            raise ApiError("InvalidParameterValue", f"Invalid value '{itype}' for InstanceType.")
        mn, mx = p.int("MinCount"), p.int("MaxCount")
        if mn is None:
            raise ApiError("MissingParameter", "The request must contain the parameter MinCount")
        if mx is None:
            raise ApiError("MissingParameter", "The request must contain the parameter MaxCount")
        if mn < 1 or mx < mn:
            raise ApiError("InvalidParameterValue", f"Invalid value '{mn}' for minCount. Must be between 1 and {max(mx, 1)}.")
        if mx > 20:
            raise ApiError("InstanceLimitExceeded",
                           "You have requested more instances (%d) than your current instance limit of 20 allows "
                           "for the specified instance type." % mx)
        key = p.get("KeyName")
        if key is not None and key not in reg.keys:
            raise ApiError("InvalidKeyPair.NotFound", f"The key pair '{key}' does not exist")
        groups = [self._group(reg, gid=g).id for g in p.list("SecurityGroupId")]
        groups += [self._group(reg, name=n).id for n in p.list("SecurityGroup")]
        for ni in p.groups("NetworkInterface"):
            groups += [self._group(reg, gid=g).id for g in ni.list("SecurityGroupId")]
            if ni.get("SubnetId") and not p.get("SubnetId"):
                p.d["SubnetId"] = ni.get("SubnetId")
        groups = list(dict.fromkeys(groups)) or [reg.default_group]
        sid = p.get("SubnetId")
        az = p.get("Placement.AvailabilityZone")
        if sid:
            check_ids("subnet", [sid], "InvalidSubnetID.Malformed")
            if sid not in reg.subnets:
                raise ApiError("InvalidSubnetID.NotFound", f"The subnet ID '{sid}' does not exist")
            sub = reg.subnets[sid]
        elif az:
            subs = [s for s in reg.subnets.values() if s.az == az]
            if not subs:
                raise ApiError("InvalidParameterValue", f"Invalid availability zone: [{az}]")
            sub = subs[0]
        else:
            sub = list(reg.subnets.values())[0]
        spot = (p.get("InstanceMarketOptions.MarketType") or "").lower() == "spot"
        ud = p.get("UserData")
        userdata = b""
        if ud:
            try:
                userdata = base64.b64decode(ud, validate=True)
            except Exception:
                raise ApiError("InvalidParameterValue", "Invalid BASE64 encoding of user data.")
            if len(ud) > 16384:
                raise ApiError("InvalidParameterValue", "User data is limited to 16384 bytes")
        tags = self._tag_specs(p, ("instance", "volume", "network-interface", "spot-instances-request"))
        root_size, root_dot, root_type, extra = im["size"], True, "gp3", []
        for b in p.groups("BlockDeviceMapping"):
            dev = b.req("DeviceName")
            size = b.int("Ebs.VolumeSize")
            vt = b.get("Ebs.VolumeType") or "gp3"
            if vt not in ("gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"):
                raise ApiError("InvalidParameterValue", f"Invalid value '{vt}' for volumeType.")
            dot = b.bool("Ebs.DeleteOnTermination", True)
            if dev == im["root"]:
                if size is not None and size < im["size"]:
                    raise ApiError("InvalidBlockDeviceMapping",
                                   f"Volume of size {size}GB is smaller than snapshot '{im['snapshot']}', "
                                   f"expect size >= {im['size']}GB")
                root_size, root_dot, root_type = size or root_size, dot, vt
            elif b.get("NoDevice") is None and b.get("VirtualName") is None:
                if size is None:
                    raise ApiError("InvalidBlockDeviceMapping", f"The request must contain the parameter size for {dev}")
                extra.append((dev, size, dot, vt))
        self._capacity(itype, sub.az, reg, "RunInstances")
        n = mx
        v, gpu = TYPES[itype]
        if gpu and not spot:
            room = (self.cfg["vcpu_limit"] - self._gpu_vcpus(reg)) // v
            n = max(min(mx, room), mn)
            self._vcpu_check(reg, itype, n)
        # --- commit
        if self.root_ok:
            host.ensure_user(im["user"])
        now = time.time()
        rid = new_id("r")
        fail = re.findall(rb"GPUCTL_SIM_FAIL_TEST=([\w,-]+)", userdata)
        fail = [x for f in fail for x in f.decode().split(",") if x]
        delay = self.faults.peek("consistency", "RunInstances")
        if delay:
            self.faults.count("consistency")
        insts = []
        for idx in range(n):
            iid = new_id("i")
            sub.n += 1
            pip = f"172.31.{sub.base + sub.n // 250}.{sub.n % 250 + 4}"
            hostname = "ip-" + pip.replace(".", "-")
            idir = reg.root / "instances" / iid
            idir.mkdir(parents=True)
            host.keygen(idir / "ssh_host_ed25519_key", f"root@{hostname}")
            ip = self.pool.take()
            i = Obj(id=iid, image=image_id, type=itype, key=key, groups=groups, subnet=sub.id, az=sub.az,
                    private_ip=pip, private_dns=f"{hostname}.{reg.name}.compute.internal", ip=ip, index=idx,
                    state="pending", launch=now, t_next=now + self.cfg["boot_delay"], token=token, spot=spot,
                    user=im["user"], root_device=im["root"], dir=idir, volumes=[], reservation=rid,
                    userdata=userdata, console=None, proc=None, ns=None, ssh_at=None,
                    visible_at=now + delay if delay else 0, no_sshd=bool(self.faults.fire("sshd-drop", "RunInstances")),
                    ssh_late=self.faults.fire("sshd-late", "RunInstances") or 0)
            (idir / "authorized_keys").write_text((reg.keys[key].pub + f" {key}\n") if key else "")
            (idir / "sshd_config").write_text(host.sshd_config(idir, ip, self.ssh_port, im["user"], f"/home/{im['user']}",
                                                                  self.cfg["sshd_options"]))
            for dev, size, dot, vt, snap in [(im["root"], root_size, root_dot, root_type, im["snapshot"])] + \
                    [(d, s, o, t, None) for d, s, o, t in extra]:
                vid = new_id("vol")
                reg.volumes[vid] = Obj(id=vid, size=size, type=vt, az=sub.az, state="in-use", created=now,
                                       snapshot=snap, instance=iid, device=dev, attach_time=now, dot=dot,
                                       data=reg.root / "volumes" / vid if dev == im["root"] else None)
                i.volumes.append(vid)
                if dev == im["root"]:
                    reg.volumes[vid].data.mkdir(parents=True)
                    host.make_volume(reg.volumes[vid].data, im["user"] if self.root_ok else None, fail)
                if tags.get("volume"):
                    self._set_tags(reg, vid, tags["volume"])
            if tags.get("instance"):
                self._set_tags(reg, iid, tags["instance"])
            reg.instances[iid] = i
            insts.append(i)
        reg.reservations[rid] = [i.id for i in insts]
        if token:
            reg.tokens[token] = (sig, rid)
        return self._reservation_xml(reg, rid, insts)

    def a_DescribeInstances(self, reg, p):
        ids = p.list("InstanceId")
        if ids and p.get("MaxResults"):
            raise ApiError("InvalidParameterCombination",
                           "The parameter instancesSet cannot be used with the parameter maxResults")
        insts = self._instances(reg, ids) if ids else [i for i in reg.instances.values() if self._visible(i)]
        insts = apply_filters(insts, p.filters(), lambda i: {
            "instance-id": i.id, "instance-state-name": i.state, "instance-state-code": STATES[i.state],
            "image-id": i.image, "key-name": i.key, "instance-type": i.type, "availability-zone": i.az,
            "subnet-id": i.subnet, "vpc-id": reg.vpc, "ip-address": i.ip if i.state == "running" else None,
            "private-ip-address": i.private_ip, "reservation-id": i.reservation, "client-token": i.token,
            "instance-lifecycle": "spot" if i.spot else None, "instance.group-id": i.groups,
            "group-id": i.groups, "dns-name": None, "launch-index": i.index, "owner-id": ACCOUNT},
            lambda i: self._tags(reg, i.id),
            known=("instance-id", "instance-state-name", "instance-state-code", "image-id", "key-name",
                   "instance-type", "availability-zone", "subnet-id", "vpc-id", "ip-address", "private-ip-address",
                   "reservation-id", "client-token", "instance-lifecycle", "instance.group-id", "group-id",
                   "dns-name", "launch-index", "owner-id"))
        page, nxt = self._page(insts, p)
        out = {}
        for i in page:
            out.setdefault(i.reservation, []).append(i)
        return {"reservationSet": [self._reservation_xml(reg, rid, l) for rid, l in out.items()], "nextToken": nxt}

    def a_DescribeInstanceStatus(self, reg, p):
        ids = p.list("InstanceId")
        insts = self._instances(reg, ids) if ids else [i for i in reg.instances.values() if self._visible(i)]
        if not p.bool("IncludeAllInstances"):
            insts = [i for i in insts if i.state == "running"]
        insts = apply_filters(insts, p.filters(), lambda i: {"instance-state-name": i.state,
                              "availability-zone": i.az, "instance-state-code": STATES[i.state]},
                              known=("instance-state-name", "availability-zone", "instance-state-code"))
        page, nxt = self._page(insts, p)

        def st(i):
            if i.state != "running":
                return {"status": "not-applicable", "details": []}
            ok = i.ssh_at is not None and time.time() >= i.ssh_at + 0.2
            return {"status": "ok" if ok else "initializing",
                    "details": [{"name": "reachability", "status": "passed" if ok else "initializing"}]}
        return {"instanceStatusSet": [{"instanceId": i.id, "availabilityZone": i.az,
                                       "instanceState": {"code": STATES[i.state], "name": i.state},
                                       "systemStatus": st(i), "instanceStatus": st(i)} for i in page],
                "nextToken": nxt}

    def _change(self, reg, p, fn):
        ids = p.list("InstanceId")
        if not ids:
            raise ApiError("MissingParameter", "The request must contain the parameter InstanceId")
        insts = self._instances(reg, ids)
        items = []
        for i in insts:
            prev = i.state
            fn(i)
            items.append({"instanceId": i.id, "currentState": {"code": STATES[i.state], "name": i.state},
                          "previousState": {"code": STATES[prev], "name": prev}})
        return {"instancesSet": items}

    def a_StopInstances(self, reg, p):
        insts = self._instances(reg, p.list("InstanceId"))
        for i in insts:
            if i.state in ("pending", "shutting-down", "terminated"):
                raise ApiError("IncorrectInstanceState",
                               f"This instance '{i.id}' is not in a state from which it can be stopped.")
            if i.spot:
                raise ApiError("UnsupportedOperation",
                               f"You can't stop the Spot Instance '{i.id}' because it is associated with a one-time "
                               "Spot Instance request. You can only stop Spot Instances associated with persistent "
                               "Spot Instance requests.")

        def stop(i):
            if i.state == "running":
                i.state, i.t_next = "stopping", time.time() + self.stop_delay
                i.reason = time.strftime("User initiated (%Y-%m-%d %H:%M:%S GMT)", time.gmtime())
                i.state_reason = {"code": "Client.UserInitiatedShutdown",
                                  "message": "Client.UserInitiatedShutdown: User initiated shutdown"}
        return self._change(reg, p, stop)

    def a_StartInstances(self, reg, p):
        insts = self._instances(reg, p.list("InstanceId"))
        for i in insts:
            if i.state not in ("stopped", "pending", "running"):
                raise ApiError("IncorrectInstanceState",
                               f"The instance '{i.id}' is not in a state from which it can be started.")
        starting = [i for i in insts if i.state == "stopped"]
        for t in {i.type for i in starting}:
            n = sum(1 for i in starting if i.type == t)
            self._vcpu_check(reg, t, n)
            self._capacity(t, starting[0].az, reg, "StartInstances")

        def start(i):
            if i.state == "stopped":
                i.state, i.t_next, i.reason, i.state_reason = "pending", time.time() + self.cfg["boot_delay"], "", None
                i.launch = time.time()
                i.no_sshd = bool(self.faults.fire("sshd-drop", "StartInstances"))
                i.ssh_late = self.faults.fire("sshd-late", "StartInstances") or 0
        return self._change(reg, p, start)

    def a_TerminateInstances(self, reg, p):
        def term(i):
            if i.state not in ("shutting-down", "terminated"):
                i.state, i.t_next = "shutting-down", time.time() + self.stop_delay
                i.reason = time.strftime("User initiated (%Y-%m-%d %H:%M:%S GMT)", time.gmtime())
                i.state_reason = {"code": "Client.UserInitiatedShutdown",
                                  "message": "Client.UserInitiatedShutdown: User initiated shutdown"}
        return self._change(reg, p, term)

    def a_RebootInstances(self, reg, p):
        ids = p.list("InstanceId")
        if not ids:
            raise ApiError("MissingParameter", "The request must contain the parameter InstanceId")
        for i in self._instances(reg, ids):
            if i.state == "terminated":
                raise ApiError("IncorrectInstanceState", f"The instance '{i.id}' is not in a state from which it can be rebooted.")
        return {"return": True}

    def a_GetConsoleOutput(self, reg, p):
        i = self._instances(reg, [p.req("InstanceId")])[0]
        out = {"instanceId": i.id, "timestamp": iso(time.time())}
        if i.console:
            out["output"] = base64.b64encode(i.console.encode()).decode()
        return out

    def _console(self, reg, i):
        pub = (i.dir / "ssh_host_ed25519_key.pub").read_text().strip()
        fp = host.fingerprint(i.dir / "ssh_host_ed25519_key.pub")
        hn = i.private_dns.split(".")[0]
        t = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        return "\n".join([
            "[    0.000000] Linux version 6.8.0-1016-aws (buildd@lcy02-amd64-060) (x86_64-linux-gnu-gcc-12) #17~22.04.1-Ubuntu SMP",
            "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.8.0-1016-aws root=PARTUUID=6c2a8a2e-01 ro console=tty1 console=ttyS0 nvme_core.io_timeout=4294967295 panic=-1",
            f"[    2.812345] cloud-init[512]: Cloud-init v. 24.1.3-0ubuntu1~22.04.5 running 'init' at {t}. Up 2.80 seconds.",
            f"[    2.901234] cloud-init[512]: ci-info: |  ens5  | True | {i.private_ip} | 255.255.240.0 | global | 0a:1b:2c:3d:4e:5f |",
            "[    3.120001] cloud-init[512]: Generating public/private ed25519 key pair.",
            "[    3.120002] cloud-init[512]: The key fingerprint is:",
            f"[    3.120003] cloud-init[512]: {fp.split()[1]} root@{hn}",
            "[  OK  ] Started OpenBSD Secure Shell server.",
            f"[    4.501234] cloud-init[601]: Cloud-init v. 24.1.3-0ubuntu1~22.04.5 running 'modules:config' at {t}. Up 4.50 seconds.",
            "-----BEGIN SSH HOST KEY FINGERPRINTS-----",
            fp,
            "-----END SSH HOST KEY FINGERPRINTS-----",
            "-----BEGIN SSH HOST KEY KEYS-----",
            pub,
            "-----END SSH HOST KEY KEYS-----",
            f"[    5.012345] cloud-init[640]: Cloud-init v. 24.1.3-0ubuntu1~22.04.5 finished at {t}. Datasource DataSourceEc2Local.  Up 5.01 seconds",
            f"\nUbuntu 22.04.5 LTS {hn} ttyS0\n\n{hn} login: ",
        ])

    # ---- tags -----------------------------------------------------------------------------------
    def _resource_type(self, reg, rid):
        pre = rid.split("-")[0]
        table = {"i": ("instance", reg.instances, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist"),
                 "vol": ("volume", reg.volumes, "InvalidVolume.NotFound", "The volume '%s' does not exist."),
                 "snap": ("snapshot", reg.snapshots, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist."),
                 "sg": ("security-group", reg.groups, "InvalidGroup.NotFound", "The security group '%s' does not exist"),
                 "ami": ("image", reg.images, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist"),
                 "key": ("key-pair", {k.id: k for k in reg.keys.values()}, "InvalidKeyPair.NotFound",
                         "The key pair ID '%s' does not exist"),
                 "vpc": ("vpc", {reg.vpc: 1}, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist"),
                 "subnet": ("subnet", reg.subnets, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist")}
        if pre not in table or not ID_RE[pre].match(rid):
            raise ApiError("InvalidID", f'The ID \'{rid}\' is not valid')
        rt, coll, code, msg = table[pre]
        if rid not in coll or (pre == "i" and not self._visible(coll[rid])):
            raise ApiError(code, msg % rid)
        return rt

    def a_CreateTags(self, reg, p):
        ids = p.list("ResourceId")
        if not ids:
            raise ApiError("MissingParameter", "The request must contain the parameter resourceIdSet")
        tags = self._tags_from(p)
        if not tags:
            raise ApiError("MissingParameter", "The request must contain the parameter tagSet")
        for r in ids:
            self._resource_type(reg, r)
        for r in ids:
            self._set_tags(reg, r, tags)
        return {"return": True}

    def a_DeleteTags(self, reg, p):
        ids = p.list("ResourceId")
        if not ids:
            raise ApiError("MissingParameter", "The request must contain the parameter resourceIdSet")
        for r in ids:
            self._resource_type(reg, r)
        specs = [(t.get("Key"), t.get("Value")) for t in p.groups("Tag")]
        for r in ids:
            cur = reg.tags.get(r, {})
            if not specs:
                cur.clear()
            for k, v in specs:
                if k in cur and (v is None or cur[k] == v):
                    del cur[k]
        return {"return": True}

    def a_DescribeTags(self, reg, p):
        items = [{"resourceId": r, "resourceType": self._resource_type(reg, r), "key": k, "value": v}
                 for r, tags in list(reg.tags.items()) for k, v in tags.items()
                 if not (r.startswith("i-") and (r not in reg.instances or not self._visible(reg.instances[r])))
                 and not (r not in reg.images and r not in reg.instances and r not in reg.volumes
                          and r not in reg.snapshots and r not in reg.groups and r != reg.vpc
                          and r not in reg.subnets and r not in {k.id for k in reg.keys.values()})]
        items = apply_filters(items, p.filters(), lambda t: {"resource-id": t["resourceId"],
                              "resource-type": t["resourceType"], "key": t["key"], "value": t["value"]},
                              known=("resource-id", "resource-type", "key", "value"))
        page, nxt = self._page(items, p)
        return {"tagSet": page, "nextToken": nxt}

    # ---- volumes, snapshots ---------------------------------------------------------------------
    def _vol_xml(self, reg, v):
        return {"volumeId": v.id, "size": v.size, "snapshotId": v.snapshot or "", "availabilityZone": v.az,
                "status": v.state, "createTime": iso(v.created),
                "attachmentSet": [{"volumeId": v.id, "instanceId": v.instance, "device": v.device,
                                   "status": "attached", "attachTime": iso(v.attach_time),
                                   "deleteOnTermination": v.dot}] if v.instance else [],
                "volumeType": v.type, "iops": 3000 if v.type == "gp3" else max(100, 3 * v.size),
                "throughput": 125 if v.type == "gp3" else None, "encrypted": False,
                "multiAttachEnabled": False, "tagSet": tagset(self._tags(reg, v.id))}

    def a_DescribeVolumes(self, reg, p):
        ids = p.list("VolumeId")
        check_ids("vol", ids, "InvalidVolumeID.Malformed")
        for i in ids:
            if i not in reg.volumes:
                raise ApiError("InvalidVolume.NotFound", f"The volume '{i}' does not exist.")
        vols = [reg.volumes[i] for i in ids] if ids else list(reg.volumes.values())
        vols = apply_filters(vols, p.filters(), lambda v: {
            "volume-id": v.id, "status": v.state, "size": v.size, "availability-zone": v.az,
            "attachment.instance-id": v.instance, "attachment.device": v.device,
            "attachment.delete-on-termination": v.dot if v.instance else None, "volume-type": v.type,
            "snapshot-id": v.snapshot, "attachment.status": "attached" if v.instance else None},
            lambda v: self._tags(reg, v.id),
            known=("volume-id", "status", "size", "availability-zone", "attachment.instance-id",
                   "attachment.device", "attachment.delete-on-termination", "volume-type", "snapshot-id",
                   "attachment.status"))
        page, nxt = self._page(vols, p)
        return {"volumeSet": [self._vol_xml(reg, v) for v in page], "nextToken": nxt}

    def _snap_xml(self, reg, s):
        return {"snapshotId": s.id, "volumeId": s.volume, "status": s.state, "startTime": iso(s.start),
                "progress": f"{self._snap_progress(s)}%", "ownerId": ACCOUNT, "volumeSize": s.size,
                "description": s.desc, "encrypted": False, "storageTier": "standard",
                "tagSet": tagset(self._tags(reg, s.id))}

    def _snap_progress(self, s):
        if s.state == "completed":
            return 100
        d = self.cfg["snapshot_delay"] or 1
        return min(99, int(100 * (time.time() - s.start) / d))

    def a_CreateSnapshot(self, reg, p):
        vid = p.req("VolumeId")
        check_ids("vol", [vid], "InvalidVolumeID.Malformed")
        if vid not in reg.volumes:
            raise ApiError("InvalidVolume.NotFound", f"The volume '{vid}' does not exist.")
        v = reg.volumes[vid]
        tags = self._tag_specs(p, ("snapshot",)).get("snapshot", {})
        sid = new_id("snap")
        reg.snapshots[sid] = s = Obj(id=sid, volume=vid, state="pending", start=time.time(), size=v.size,
                                     desc=p.get("Description", ""))
        if v.data and v.data.exists():
            s.data = reg.root / "snapshots" / sid
            shutil.copytree(v.data, s.data, symlinks=True)
        if tags:
            self._set_tags(reg, sid, tags)
        return self._snap_xml(reg, s)

    def a_DescribeSnapshots(self, reg, p):
        ids = p.list("SnapshotId")
        check_ids("snap", ids, "InvalidSnapshotID.Malformed")
        for i in ids:
            if i not in reg.snapshots:
                raise ApiError("InvalidSnapshot.NotFound", f"The snapshot '{i}' does not exist.")
        snaps = [reg.snapshots[i] for i in ids] if ids else list(reg.snapshots.values())
        owners = p.list("Owner") + p.list("OwnerId")
        if owners and not any(o in ("self", ACCOUNT) for o in owners):
            snaps = []
        snaps = apply_filters(snaps, p.filters(), lambda s: {
            "snapshot-id": s.id, "volume-id": s.volume, "status": s.state, "owner-id": ACCOUNT,
            "description": s.desc, "volume-size": s.size, "progress": f"{self._snap_progress(s)}%"},
            lambda s: self._tags(reg, s.id),
            known=("snapshot-id", "volume-id", "status", "owner-id", "description", "volume-size", "progress"))
        page, nxt = self._page(snaps, p)
        return {"snapshotSet": [self._snap_xml(reg, s) for s in page], "nextToken": nxt}

    def a_DeleteSnapshot(self, reg, p):
        sid = p.req("SnapshotId")
        check_ids("snap", [sid], "InvalidSnapshotID.Malformed")
        if sid not in reg.snapshots:
            raise ApiError("InvalidSnapshot.NotFound", f"The snapshot '{sid}' does not exist.")
        s = reg.snapshots.pop(sid)
        reg.tags.pop(sid, None)
        if s.data:
            shutil.rmtree(s.data, ignore_errors=True)
        return {"return": True}

    # ---- the clock ------------------------------------------------------------------------------
    def _tick_loop(self):
        while not self.stopping.wait(0.05):
            try:
                self.tick()
            except Exception as e:  # keep ticking
                self.log(f"tick error: {e!r}")

    def tick(self):
        now = time.time()
        kills, starts = [], []
        cuts = None if self.faults.peek("sshd-cut", "ssh-session") is None else []
        with self.lock:
            for reg in self.regions.values():
                for i in reg.instances.values():
                    if i.populated is True and (i.state == "running" or i.state == "stopped"):
                        continue  # made by POST /_sim/populate: nothing to do (populate.py)
                    if cuts is not None and i.state == "running" and i.proc is not None:
                        cuts.append(i)
                    if i.state == "running" and i.proc is not None and i.proc.poll() is not None:
                        # sshd died under us: restarted, as systemd would
                        self.log(f"sshd of {i.id} exited ({i.proc.returncode}); restarting it")
                        self.stats["_sshd_restarts"] = self.stats.get("_sshd_restarts", 0) + 1
                        kills.append((i, None, i.ns))
                        i.proc, i.ns, i.ssh_at = None, None, None
                    if i.state == "pending" and now >= i.t_next:
                        i.state, i.running_at = "running", now
                        if i.console is None:
                            i.console = self._console(reg, i)
                    elif i.state == "running" and i.proc is None and i.ssh_at is None and not i.no_sshd \
                            and now >= i.running_at + self.cfg["ssh_delay"] + (i.ssh_late or 0):
                        i.ssh_at = now
                        starts.append(i)
                    elif i.state == "stopping" and now >= i.t_next:
                        i.state = "stopped"
                    elif i.state == "shutting-down" and now >= i.t_next:
                        i.state = "terminated"
                        self.pool.release(i.ip)
                        for vid in i.volumes:
                            v = reg.volumes.get(vid)
                            if not v:
                                continue
                            v.instance = None
                            if v.dot:
                                if v.data:
                                    shutil.rmtree(v.data, ignore_errors=True)
                                del reg.volumes[vid]
                            else:
                                v.state = "available"
                    if i.state not in ("running",) and (i.proc is not None or i.ssh_at is not None):
                        kills.append((i, i.proc, i.ns))
                        i.proc, i.ns, i.ssh_at = None, None, None
                for s in reg.snapshots.values():
                    if s.state == "pending" and now >= s.start + self.cfg["snapshot_delay"]:
                        s.state = "completed"
        for i, proc, ns in kills:
            host.kill_instance_procs(proc, ns)
        if cuts:
            self._sshd_cuts(cuts)
        for i in starts:
            vol = next(self.regions_vol(i))
            log = open(i.dir / "sshd.log", "ab")
            populate.watch_listen(i, i.ip, self.ssh_port)
            try:
                proc = host.start_sshd(i.dir, vol, i.user, log)
            finally:
                log.close()
            ns = None
            for _ in range(40):
                ns = host.mnt_ns(proc.pid)
                if ns and ns != host.SELF_NS or proc.poll() is not None:
                    break
                time.sleep(0.005)
            host.pin_ns(proc.pid, ns)
            with self.lock:
                if i.state == "running" and i.ssh_at is not None:
                    i.proc, i.ns = proc, ns
                    continue
            host.kill_instance_procs(proc, ns)

    def _sshd_cuts(self, insts):
        """sshd-cut: each new SSH connection (a child of an instance's sshd) may be
        killed at a random time, which closes it mid-session."""
        for i in insts:
            proc = i.proc
            if proc is None:
                continue
            seen = i.setdefault("cut_seen", set())
            for pid in host.children(proc.pid):
                if pid in seen or not host.is_sshd(pid):
                    continue
                seen.add(pid)
                secs = self.faults.fire("sshd-cut", "ssh-session")
                if secs is None:
                    continue
                t = threading.Timer(self.faults.uniform(0, float(secs)), self._cut, (proc.pid, pid))
                t.daemon = True
                t.start()

    def _cut(self, parent, pid):
        if host.kill_child(parent, pid):
            self.faults.count("sshd-cut-hit")  # the connection was still open

    def regions_vol(self, i):
        for reg in self.regions.values():
            for vid in i.volumes:
                v = reg.volumes.get(vid)
                if v is not None and v.data:
                    yield v.data

    def shutdown(self):
        self.stopping.set()
        if self.ticker.is_alive() and self.ticker is not threading.current_thread():
            self.ticker.join(timeout=5)
        with self.lock:
            procs = [(i.proc, i.ns) for r in self.regions.values() for i in r.instances.values() if i.proc]
            for r in self.regions.values():
                for i in r.instances.values():
                    i.proc = None
        for proc, ns in procs:
            host.kill_instance_procs(proc, ns)

    # ---- admin -----------------------------------------------------------------------------------
    def dump(self):
        with self.lock:
            out = {}
            for name, reg in self.regions.items():
                out[name] = {
                    "instances": {i.id: {"state": i.state, "type": i.type, "image": i.image, "key": i.key,
                                         "ip": i.ip, "private_ip": i.private_ip, "user": i.user, "spot": i.spot,
                                         "groups": i.groups, "volumes": i.volumes, "token": i.token,
                                         "reservation": i.reservation, "sshd_pid": i.proc.pid if i.proc else None,
                                         "running_at": i.running_at, "ssh_started_at": i.ssh_at,
                                         "ssh_listening_at": i.ssh_listening_at,
                                         "ssh_up": i.proc is not None, "dir": str(i.dir),
                                         "tags": self._tags(reg, i.id)} for i in reg.instances.values()},
                    "keys": {k.name: {"id": k.id, "type": k.type, "fingerprint": k.fp, "public_key": k.pub}
                             for k in reg.keys.values()},
                    "groups": {g.id: {"name": g.name, "ingress": g.ingress, "egress": g.egress}
                               for g in reg.groups.values()},
                    "volumes": {v.id: {"size": v.size, "state": v.state, "instance": v.instance,
                                       "data": str(v.data) if v.data else None} for v in reg.volumes.values()},
                    "snapshots": {s.id: {"volume": s.volume, "state": s.state} for s in reg.snapshots.values()},
                    "images": {im["name"]: im["id"] for im in reg.images.values()},
                }
            out["config"] = dict(self.cfg, stop_delay=self.stop_delay)
            return out
