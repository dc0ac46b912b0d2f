#!/usr/bin/env bash
# Sets up, builds, and runs a busybox container through the real containerd-shim-runc-v2, printing its output.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
dotnet build src/ActorRuntime.Cli -c Release -nologo -v q -clp:ErrorsOnly
dotnet src/ActorRuntime.Cli/bin/Release/net10.0/arctl.dll run "demo-$$" -- \
  sh -c 'echo "hello from busybox $(hostname) as pid $$"; uname -a'
