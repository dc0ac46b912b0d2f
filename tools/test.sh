#!/usr/bin/env bash
# Sets up, builds and runs every test suite; ends with one line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1
dotnet build ActorRuntime.sln -c Release -nologo -v q -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
# Only test projects: tests/ActorRuntime.TestSupport is a class library of shared helpers.
projects=()
for project in tests/*/*.csproj; do
  [ "$(dotnet msbuild "$project" -nologo -getProperty:IsTestProject)" = "true" ] && projects+=("$project")
done
[ "${#projects[@]}" -gt 0 ] || { echo "no test project found"; echo "0 passed, 1 failed"; exit 1; }
results=$(mktemp -d)
status=0
for project in "${projects[@]}"; do
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results" || status=1
done
passed=0; failed=0; skipped=0; found=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  found=$((found + 1))
  # CI keeps only the tail of the output: name every failed test (and its message's first line) here, at the end.
  command -v python3 >/dev/null && python3 tools/trx-failures.py "$trx"
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed)))
  skipped=$((skipped + $(get total) - $(get executed)))
done
rm -rf "$results"
# A suite that crashed before writing its results counts as a failure.
expected=${#projects[@]}
if [ "$found" -lt "$expected" ]; then failed=$((failed + expected - found)); fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
