#!/usr/bin/env bash
# Builds the pinned tools the engine-level tests (tests/engine, docs/engine-tests.md)
# need, once, into a cache outside the checkout, and prints the environment that
# puts them on PATH:
#
#   eval "$(scripts/engine-tools.sh)"         # build what is missing, then print the env
#   scripts/engine-tools.sh env               # print the env only; exit 1 if a tool is missing
#   scripts/engine-tools.sh build pulumi etcd # build only these (pulumi, etcd, kwok, kube, kubernetes-provider)
#   scripts/engine-tools.sh status            # what is cached
#
# Every tool is built from the Go module proxy in its own throwaway module under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tenantco-tools/<tool>-<version>/
# (never in the checkout, never through the repository's go.mod) and is keyed
# by version: changing a version below builds a new directory, an unchanged one
# is never rebuilt. A build writes into a temporary directory and is renamed
# into place when complete, under a lock, so concurrent runs neither see half a
# tool nor build it twice. Cold build times on this 2-core machine are in
# docs/engine-tests.md (about 50 minutes for all of them; nothing when cached).
#
#   pulumi               the Pulumi CLI v3.274.1 (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
#   kubernetes-provider  pulumi-resource-kubernetes 4.32.0 (provider/v4 at its pseudo-version)
#   kube                 kube-apiserver, kube-controller-manager, kube-scheduler v1.37.2
#   etcd                 etcd v3.7.3
#   kwok                 kwok v0.8.0 (fake nodes: pods on them become Running/Ready)
set -euo pipefail

PULUMI_VERSION=v3.274.1
K8S_PROVIDER_VERSION=4.32.0
K8S_PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_PROVIDER_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199
# The provider's go.mod points its SDK at ../sdk; a published SDK whose
# pulumi/sdk/v3 requirement stays at or below the provider's pkg/v3 (v3.215.0):
# a newer one (4.32.0 needs sdk/v3 v3.243.0) breaks pkg/v3 v3.215.0's build.
K8S_PROVIDER_SDK=v4.25.0
KUBE_VERSION=v1.37.2
KUBE_STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0

ALL_TOOLS=(pulumi etcd kwok kube kubernetes-provider)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/tenantco-tools"
export GOFLAGS="${GOFLAGS:-}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { echo "engine-tools: $*" >&2; }

tool_dir() {
  case "$1" in
    pulumi) echo "$CACHE/pulumi-$PULUMI_VERSION" ;;
    kubernetes-provider) echo "$CACHE/pulumi-resource-kubernetes-v$K8S_PROVIDER_VERSION" ;;
    kube) echo "$CACHE/kubernetes-$KUBE_VERSION" ;;
    etcd) echo "$CACHE/etcd-$ETCD_VERSION" ;;
    kwok) echo "$CACHE/kwok-$KWOK_VERSION" ;;
    *) log "unknown tool $1 (known: ${ALL_TOOLS[*]})"; exit 2 ;;
  esac
}

tool_bins() {
  case "$1" in
    pulumi) echo pulumi ;;
    kubernetes-provider) echo pulumi-resource-kubernetes ;;
    kube) echo kube-apiserver kube-controller-manager kube-scheduler ;;
    etcd) echo etcd ;;
    kwok) echo kwok ;;
  esac
}

# A tool is present when every binary is there; the .complete stamp is written
# last, after the rename, so an interrupted build is never mistaken for one.
have() {
  local d b
  d=$(tool_dir "$1")
  [[ -f "$d/bin/.complete" ]] || return 1
  for b in $(tool_bins "$1"); do [[ -x "$d/bin/$b" ]] || return 1; done
  [[ $1 != kwok || -s "$d/bin/kwok-stages.yaml" ]]
}

# gomod_build TOOL MODULE_LINES LDFLAGS PKG... : builds PKGs from a throwaway
# module whose go.mod holds MODULE_LINES (require/replace), into the tool's bin/.
# $prepare (optional) runs in the module directory before the build, $finish
# (optional) in the output directory after it.
prepare="" finish=""
gomod_build() {
  local tool=$1 modlines=$2 ldflags=$3; shift 3
  local d tmp start
  d=$(tool_dir "$tool")
  mkdir -p "$d"
  tmp=$(mktemp -d "$d/.build.XXXXXX")
  start=$SECONDS
  log "building $tool into $d (log: $tmp/build.log)"
  # errexit does not apply inside a subshell that is part of `a || b`: run it
  # as a plain command and read its status.
  local rc=0
  set +e
  (
    set -e
    cd "$tmp"
    mkdir -p src out
    cd src
    printf 'module tenantco.local/engine-tools/%s\n\ngo 1.26\n\n%s\n' "$tool" "$modlines" > go.mod
    {
      echo '//go:build tools'
      echo
      echo 'package tools'
      echo
      echo 'import ('
      for p in "$@"; do [[ $p == ./* ]] || echo "	_ \"$p\""; done
      echo ')'
    } > tools.go
    if [[ -n "$prepare" ]]; then eval "$prepare"; fi
    go mod tidy
    go build -trimpath -ldflags "$ldflags" -o ../out/ "$@"
    if [[ -n "$finish" ]]; then (cd ../out && eval "$finish"); fi
    for b in $(tool_bins "$tool"); do test -x "../out/$b"; done
  ) >"$tmp/build.log" 2>&1
  rc=$?
  set -e
  if ((rc != 0)); then
    log "$tool: build failed; last lines of $tmp/build.log:"; tail -n 40 "$tmp/build.log" >&2; return 1
  fi
  rm -rf "$d/bin"
  mv "$tmp/out" "$d/bin"
  echo "built in $((SECONDS - start)) s on $(date -u +%FT%TZ)" > "$d/bin/.complete"
  rm -rf "$tmp"
  log "$tool: built in $((SECONDS - start)) s"
}

build_pulumi() {
  gomod_build pulumi "require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_etcd() {
  # The server module's root is etcd's main package; go build names it "server".
  finish='mv server etcd'
  gomod_build etcd "require go.etcd.io/etcd/server/v3 $ETCD_VERSION" "" go.etcd.io/etcd/server/v3
  finish=""
}

build_kwok() {
  # kwok needs its stages as config: nodes become Ready (and keep a lease),
  # pods on them Running/Ready, Job pods Succeeded, deleted pods go away.
  finish='d=$(cd ../src && go list -m -f "{{.Dir}}" sigs.k8s.io/kwok)
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      cat "$d/kustomize/stage/$f"; echo "---"
    done > kwok-stages.yaml'
  gomod_build kwok "require sigs.k8s.io/kwok $KWOK_VERSION" "" sigs.k8s.io/kwok/cmd/kwok
  finish=""
}

# k8s.io/kubernetes points its staging modules (k8s.io/api, client-go, ...) at
# ./staging: the throwaway module replaces each with its published v0.x tag.
build_kube() {
  local gomod staging lines m
  gomod=$(cd "$CACHE" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
  [[ -n "$staging" ]] || { log "kube: no staging replaces found in $gomod"; return 1; }
  lines="require k8s.io/kubernetes $KUBE_VERSION"$'\n'
  for m in $staging; do lines+="replace $m => $m $KUBE_STAGING_VERSION"$'\n'; done
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local v=k8s.io/component-base/version
  gomod_build kube "$lines" \
    "-X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
}

# The provider's command embeds schema-embed.json, which its module zip lacks:
# the command directory is copied into the throwaway module and its own
# generate.go writes the schema (VERSION=4.32.0), as the provider's Makefile does.
build_kubernetes-provider() {
  prepare='
    src=$(go mod download -json '"$K8S_PROVIDER_MODULE@$K8S_PROVIDER_PSEUDO"' | sed -n "s/.*\"Dir\": \"\(.*\)\",*/\1/p")
    mkdir -p cmd && cp -r "$src/cmd/pulumi-resource-kubernetes" cmd/ && chmod -R u+w cmd
    echo "{}" > cmd/pulumi-resource-kubernetes/schema-embed.json   # placeholders for tidy; generate.go rewrites both
    echo "{}" > cmd/pulumi-resource-kubernetes/terraform-mapping-embed.json
    go mod tidy
    (cd cmd/pulumi-resource-kubernetes && VERSION='"$K8S_PROVIDER_VERSION"' GOFLAGS=-mod=mod go run generate.go)
    test -s cmd/pulumi-resource-kubernetes/schema-embed.json
  '
  gomod_build kubernetes-provider "require (
	$K8S_PROVIDER_MODULE $K8S_PROVIDER_PSEUDO
	github.com/pulumi/pulumi-kubernetes/sdk/v4 $K8S_PROVIDER_SDK
)" \
    "-X $K8S_PROVIDER_MODULE/pkg/version.Version=$K8S_PROVIDER_VERSION" \
    ./cmd/pulumi-resource-kubernetes
  prepare=""
}

build() {
  local tool=$1 d
  d=$(tool_dir "$tool")
  mkdir -p "$d"
  exec {lockfd}>"$d.lock"
  flock "$lockfd"
  if have "$tool"; then
    log "$tool: cached in $d"
  else
    "build_$tool"
  fi
  flock -u "$lockfd"
}

print_env() {
  local t path="" missing=0
  for t in "${ALL_TOOLS[@]}"; do
    if have "$t"; then path+="$(tool_dir "$t")/bin:"; else log "$t: not built"; missing=1; fi
  done
  echo "export PATH=\"${path}\$PATH\""
  echo "export ENGINE_TOOLS_PATH=\"${path%:}\""
  echo "export ENGINE_K8S_PROVIDER_VERSION=$K8S_PROVIDER_VERSION"
  echo "export ENGINE_PULUMI_VERSION=$PULUMI_VERSION"
  return $missing
}

cmd=${1:-all}
case "$cmd" in
  all)
    for t in "${ALL_TOOLS[@]}"; do build "$t"; done
    print_env ;;
  build)
    shift
    for t in "${@:-${ALL_TOOLS[@]}}"; do build "$t"; done ;;
  env) print_env ;;
  status)
    for t in "${ALL_TOOLS[@]}"; do
      if have "$t"; then echo "$t: $(tool_dir "$t") ($(cat "$(tool_dir "$t")/bin/.complete"))"; else echo "$t: missing"; fi
    done ;;
  *) log "usage: $0 [all|env|status|build TOOL...]"; exit 2 ;;
esac
