#!/bin/sh
# The main job, end to end, on the local EC2 simulator: launch a GPU
# instance from the tutorial's AMI, wait for SSH, run the test scripts,
# copy a file both ways, terminate.  Needs root (the simulated instances
# are real sshd processes on 127.0.0.N port 22).  `make demo` runs it.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
gpuctl=${GPUCTL_BIN:-$here/gpuctl}
work=$(mktemp -d /tmp/gpuctl-demo.XXXXXX)
sim_pid=

cleanup() {
	if [ -n "$sim_pid" ]; then
		kill -TERM "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: the simulator's instances need root (sshd on port 22)" >&2
	exit 1
fi

/usr/bin/python3 "$here/tests/sim/ec2sim" --port 0 --state-dir "$work/sim" \
	--boot-delay 2 --ssh-delay 1 >"$work/sim.out" 2>"$work/sim.log" &
sim_pid=$!
i=0
until grep -q '^listening on ' "$work/sim.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$sim_pid" 2>/dev/null; then
		echo "demo: the simulator did not start:" >&2
		cat "$work/sim.log" >&2
		exit 1
	fi
	sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/sim.out")

# A user of the simulator: its test credentials, a fresh home.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
export XDG_STATE_HOME="$work/home/.local/state"
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-west-1 AWS_ENDPOINT_URL="$url"
export AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none"
# checkip.amazonaws.com is out of reach: say what our address is.
export GPUCTL_CALLER_IP=127.0.0.1
mkdir -p "$HOME"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step gpuctl launch --ami vict0rsch-1.0 --type g2.2xlarge --name demo
id=$("$gpuctl" launch --ami vict0rsch-1.0 --type g2.2xlarge --name demo)
echo "$id"

step gpuctl list
"$gpuctl" --output table list

step gpuctl ssh demo -- nvidia-smi -L
"$gpuctl" ssh demo -- nvidia-smi -L

step gpuctl test
"$gpuctl" --output table test

step gpuctl cp notes.txt demo:notes.txt '&&' gpuctl cp demo:notes.txt back.txt
echo "results of $(date -u)" >"$work/notes.txt"
"$gpuctl" cp "$work/notes.txt" demo:notes.txt
"$gpuctl" cp demo:notes.txt "$work/back.txt"
cmp "$work/notes.txt" "$work/back.txt" && echo "copied both ways, identical"

step gpuctl terminate --yes --wait "$id"
"$gpuctl" terminate --yes --wait "$id"

printf '\ndemo: done\n'
