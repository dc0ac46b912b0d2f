#!/usr/bin/env bash
# Installs what ActorRuntime needs on Debian 12 (idempotent; run as root).
set -euo pipefail
# iproute2: ThreeNodeCluster's isolated mode makes a bridge, network namespaces and veths (ip); nsenter is util-linux.
# tmux: the arctl spec drives `arctl run -it` through a real terminal.
# docker.io: the real dockerd 20.10 that the client specs and `actorruntime-bench clients` run on a containerd-API socket.
packages=(runc containerd busybox-static postgresql docker.io tmux iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  # No maintainer script may start a system containerd or dockerd here (containerd's and docker.io's postinst would):
  # the specs and benchmarks start their own daemons on their own sockets and directories.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "dotnet (the .NET 10 SDK) is not on PATH" >&2; exit 1; }
