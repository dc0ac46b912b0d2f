#!/usr/bin/env bash
# Installs what ActorRuntime needs on Debian 12 (idempotent; run as root).
set -euo pipefail
packages=(runc containerd busybox-static postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "dotnet (the .NET 10 SDK) is not on PATH" >&2; exit 1; }
