"""Fault injection: --faults SPEC and POST /_sim/faults.

SPEC = ITEM[,ITEM...]   ITEM = KIND[@Action[+Action...]]=VALUE
VALUE: a probability (has a '.', e.g. 0.3 or 1.0) or a count (integer: the next N
eligible requests).  `slow` takes VALUE:SECONDS, `consistency` takes SECONDS[s].
"""
import random
import threading

from .errors import ApiError

KINDS = {
    "throttle": None, "500": None, "503": None, "drop": None, "commit-drop": None,
    "slow": None, "capacity": ("RunInstances", "StartInstances"), "consistency": ("RunInstances",),
    "sshd-drop": ("RunInstances", "StartInstances"),
    # sshd-late=VALUE:SECONDS: the instance's sshd starts SECONDS later than --ssh-delay
    "sshd-late": ("RunInstances", "StartInstances"),
    # sshd-cut=VALUE:SECONDS: an SSH connection to an instance is killed (its sshd
    # child, so the TCP connection closes mid-session) at a random time in 0..SECONDS
    "sshd-cut": ("ssh-session",),
}
ALIASES = {"run-drop": ("commit-drop", ("RunInstances",)), "5xx": ("500", None),
           "internal": ("500", None), "unavailable": ("503", None)}


class Rule:
    def __init__(self, kind, actions, prob=None, count=None, arg=None, text=""):
        self.kind, self.actions, self.prob, self.count, self.arg, self.text = kind, actions, prob, count, arg, text

    def applies(self, action):
        return self.actions is None or action in self.actions


def _num(v, what):
    try:
        return float(v)
    except ValueError:
        raise ValueError(f"bad {what} {v!r}")


def parse(spec):
    rules = []
    for item in (spec or "").replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            raise ValueError(f"fault item {item!r} is not KIND=VALUE")
        key, value = (x.strip() for x in item.split("=", 1))
        kind, _, scope = key.partition("@")
        actions = tuple(a for a in scope.replace("|", "+").split("+") if a) or None
        if kind in ALIASES:
            kind, forced = ALIASES[kind]
            actions = actions or forced
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(list(KINDS) + list(ALIASES))})")
        actions = actions or KINDS[kind]
        arg = None
        if kind == "consistency":
            rules.append(Rule(kind, actions, prob=1.0, arg=_num(value.rstrip("s"), "seconds"), text=item))
            continue
        if kind in ("slow", "sshd-late", "sshd-cut"):
            value, _, secs = value.partition(":")
            arg = _num(secs.rstrip("s") or "2", "seconds")
        if "." in value:
            p = _num(value, "probability")
            if not 0 <= p <= 1:
                raise ValueError(f"probability out of range in {item!r}")
            rules.append(Rule(kind, actions, prob=p, arg=arg, text=item))
        else:
            try:
                n = int(value)
            except ValueError:
                raise ValueError(f"bad count in {item!r}")
            rules.append(Rule(kind, actions, count=n, arg=arg, text=item))
    return rules


class Faults:
    def __init__(self, spec="", seed=None):
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.injected = {}
        self.by_action = {}  # "KIND@Action": injected (GET /_sim/stats "faults_by_action")
        self.rules = parse(spec)
        self.spec = spec or ""

    def set(self, spec):
        rules = parse(spec)
        with self.lock:
            self.rules, self.spec = rules, spec or ""

    def fire(self, kind, action):
        """True (and a rule consumed) if a fault of this kind hits this request."""
        with self.lock:
            for r in self.rules:
                if r.kind != kind or not r.applies(action):
                    continue
                if r.count is not None:
                    if r.count <= 0:
                        continue
                    r.count -= 1
                elif self.rng.random() >= r.prob:
                    continue
                self.injected[kind] = self.injected.get(kind, 0) + 1
                ka = f"{kind}@{action}"
                self.by_action[ka] = self.by_action.get(ka, 0) + 1
                return r.arg if r.arg is not None else True
        return None

    def peek(self, kind, action):
        """The argument of the first matching rule without consuming it (consistency)."""
        with self.lock:
            for r in self.rules:
                if r.kind == kind and r.applies(action):
                    return r.arg
        return None

    def uniform(self, a, b):
        with self.lock:
            return self.rng.uniform(a, b)

    def count(self, kind):
        with self.lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1

    def before(self, action):
        """Faults decided before the action runs.  Returns 'drop', a delay, or raises."""
        if self.fire("drop", action):
            return "drop"
        if self.fire("throttle", action):
            raise ApiError("RequestLimitExceeded", "Request limit exceeded.", 503)
        if self.fire("500", action):
            raise ApiError("InternalError", "An internal error has occurred", 500)
        if self.fire("503", action):
            raise ApiError("Unavailable", "The server is overloaded and can't handle the request.", 503)
        return self.fire("slow", action)

    def dump(self):
        with self.lock:
            return {"spec": self.spec, "injected": dict(self.injected),
                    "rules": [{"kind": r.kind, "actions": r.actions, "prob": r.prob,
                               "remaining": r.count, "arg": r.arg} for r in self.rules]}
