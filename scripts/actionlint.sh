#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint (github.com/rhysd/actionlint).
#
#   scripts/actionlint.sh            # lint .github/workflows/*.yml
#   scripts/actionlint.sh -verbose   # extra arguments go to actionlint
#
# actionlint is built from the Go module proxy into a cache outside the
# checkout and reused on the next run:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tenantco-tools/actionlint-<version>/actionlint
# It runs shellcheck on every `run:` script, so shellcheck must be on PATH:
# the script installs it with apt when it is missing and we are root (GitHub's
# ubuntu runners have it), and otherwise stops and says how to install it.
#
# The repository and environment variables the workflows may read are listed
# below (config-variables): a `vars.NAME` that is not documented in
# docs/delivery.md fails the lint instead of silently being empty. The
# self-hosted runner labels are the stacks' CodeBuild runners
# (codebuild-platform-<stack>-runner-<run id>-<attempt>, components/runner.go):
# a literal label that is not one of them fails the lint. actionlint does not
# check a label built from an expression; tests/workflows_test.go checks
# those against the program's runner projects.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=v1.7.12
dir="${XDG_CACHE_HOME:-$HOME/.cache}/tenantco-tools/actionlint-$VERSION"
bin="$dir/actionlint"
tmp="" config=""
trap 'rm -rf "$tmp" "$config"' EXIT

if [[ ! -x "$bin" ]] || [[ "$("$bin" -version 2>/dev/null | head -n1)" != "$VERSION" ]]; then
  echo "actionlint: installing $VERSION into $dir" >&2
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.install.XXXXXX")
  # Outside any module: go install pkg@version uses only the proxy's go.mod.
  (cd "$tmp" && GOBIN="$tmp" GOFLAGS="${GOFLAGS:-}" go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION")
  mv -f "$tmp/actionlint" "$bin"   # atomic: concurrent runs never see half a binary
fi

config=$(mktemp)
cat >"$config" <<'EOF'
self-hosted-runner:
  labels:
    - codebuild-platform-dev-runner-*
    - codebuild-platform-prod-runner-*
config-variables:
  - AWS_REGION
  - AWS_DEPLOY_ROLE_ARN
  - AWS_PREVIEW_ROLE_ARN_DEV
  - AWS_PREVIEW_ROLE_ARN_PROD
  - IMAGE_REPOSITORY
  - PULUMI_ORG
  - PULUMI_TOKEN_TYPE
  - PULUMI_TOKEN_SCOPE
  - PULUMI_BACKEND_URL
  - PULUMI_SECRETS_PROVIDER
  - PREVIEW_RUNNER
EOF

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if ((${#workflows[@]} == 0)); then
  echo "actionlint: no workflows under .github/workflows" >&2
  exit 1
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "actionlint: shellcheck is missing, so the workflows' run: scripts would go unlinted; install it (apt-get install -y shellcheck) and retry" >&2
    exit 1
  fi
  echo "actionlint: installing shellcheck with apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq shellcheck >/dev/null
fi
echo "actionlint $VERSION (with $(shellcheck --version | sed -n 's/^version: /shellcheck /p')): ${#workflows[@]} workflows" >&2
"$bin" -config-file "$config" "$@" "${workflows[@]}"
