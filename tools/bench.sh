#!/usr/bin/env bash
# Restart benchmark, ActorRuntime next to containerd 1.6.20 on this machine. Usage: tools/bench.sh [--n 100] [--json] ...
# Needs root, runc, containerd (Debian package), busybox-static; builds Release first.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build tools/ActorRuntime.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly >&2
exec dotnet tools/ActorRuntime.Benchmarks/bin/Release/net10.0/actorruntime-bench.dll restart "$@"
