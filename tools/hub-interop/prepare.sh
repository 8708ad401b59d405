#!/usr/bin/env bash
# First half of the Python cache interop check: our HubClient downloads the interop repo from a FakeHub into
# cache A; the repo files, their manifest and cache A (as a tar: symlinks kept) land in .hubinterop/, which
# check_python_interop.py reads on a machine with huggingface_hub. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64} MAVEN_OPTS=${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}
./mvnw -q -B -o -pl hub-client test-compile
cp_file=$(mktemp)
./mvnw -q -B -o -pl hub-client dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test
rm -rf .hubinterop && mkdir .hubinterop
"$JAVA_HOME/bin/java" --sun-misc-unsafe-memory-access=allow \
  -cp "hub-client/target/test-classes:hub-client/target/classes:$(cat "$cp_file")" \
  dev.ao4j.hub.PythonCacheInteropMain models/ao4j-tiny-llama .hubinterop
rm -f "$cp_file"
tar -C .hubinterop -cf .hubinterop/cacheA.tar cacheA
rm -rf .hubinterop/cacheA .hubinterop/hf-home
grep -qx '.hubinterop/' .git/info/exclude 2>/dev/null || echo '.hubinterop/' >> .git/info/exclude
du -sh .hubinterop
