"""Running the built gpuctl binary in tests."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GPUCTL = os.environ.get("GPUCTL_BIN", str(REPO / "gpuctl"))


def gpuctl(sim, *args, env=None, input=None, timeout=120, extra_env=None):
    """Runs gpuctl with the simulator's environment; returns CompletedProcess
    (stdout/stderr as bytes decoded to str with surrogateescape)."""
    e = dict(sim.env if sim is not None else {"PATH": "/usr/bin:/bin"})
    if env is not None:
        e = dict(env)
    if extra_env:
        e.update(extra_env)
    for k in [k for k, v in e.items() if v is None]:
        del e[k]
    p = subprocess.run([GPUCTL, *[str(a) for a in args]], env=e,
                       input=input, capture_output=True, timeout=timeout)
    p.stdout = p.stdout.decode("utf-8", "surrogateescape")
    p.stderr = p.stderr.decode("utf-8", "surrogateescape")
    return p
