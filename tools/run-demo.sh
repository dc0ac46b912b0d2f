#!/usr/bin/env bash
# Sets up, builds, and runs a busybox container through arctl and the real containerd-shim-runc-v2, printing its output.
# arctl talks to actorruntimed when one answers at the default address, else it runs the runtime in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
dotnet build src/ActorRuntime.Cli -c Release -nologo -v q -clp:ErrorsOnly
tools/arctl run --rm "demo-$$" sh -c 'echo "hello from busybox $(hostname) as pid $$"; uname -a'
