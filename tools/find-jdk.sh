# Sourced by ./ao4j and ./run-tests. Sets AO4J_JAVA_HOME to a JDK >= 25 or explains why it can't.
# Order: $JAVA_HOME, then the usual install places, then the `java` on PATH.

ao4j_java_major() { # prints the feature version of the JDK at $1, or nothing
  local rel="$1/release" v
  if [ -r "$rel" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel")
  elif [ -x "$1/bin/java" ]; then
    v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  fi
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] && [ -n "$v" ] && echo "$v"
}

ao4j_find_jdk() {
  local need=25 cand major tried=""
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for cand in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* /opt/*jdk* /usr/local/jdk* /usr/local/java/* \
              "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* "$HOME"/.local/share/jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$cand" ] && candidates+=("$cand")
  done
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for cand in "${candidates[@]}"; do
    major=$(ao4j_java_major "$cand")
    tried="$tried\n  $cand: ${major:-not a JDK}"
    if [ -n "$major" ] && [ "$major" -ge "$need" ]; then
      AO4J_JAVA_HOME="$cand"
      return 0
    fi
  done
  printf 'ao4j needs a JDK %s or newer and found none.\nLooked at (JAVA_HOME first, then the usual places):%b\n' "$need" "${tried:-\n  (nothing)}" >&2
  printf 'Install one (e.g. Temurin 25) and set JAVA_HOME to it.\n' >&2
  return 1
}
