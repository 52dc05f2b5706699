#!/usr/bin/env bash
# The README's main job, the offline review, with the first build made
# visible. The same as `go run . review ARGS`, run from the repository root:
#
#   scripts/review.sh --stack dev            # what the dev stack creates and costs
#   scripts/review.sh --stack prod --json    # the machine-readable review
#   scripts/review.sh diff --base B.json --head H.json --markdown
#
# `go run` prints nothing until the program is built, and the first build on
# a fresh machine downloads the modules and compiles the AWS SDK: about 9
# minutes on 2 cores, indistinguishable from a hang. This script builds with
# `go build -v` instead, so every module download and every package compiled
# is printed as it happens, into a cache outside the checkout:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tenantco-tools/platform-<checkout>/platform
# Later runs find the build up to date (Go's build cache; nothing printed)
# and take a second or two. The exit code is the review's (0 OK/WARN, 1 DENY,
# 2 error).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/tenantco-tools/platform-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
bin="$dir/platform"
mkdir -p "$dir"
if [[ ! -x "$bin" ]]; then
  echo "review: first build of the program into $dir (fresh machine: about 9 minutes on 2 cores, module downloads then the AWS SDK; every package is listed as it compiles; later runs take a second or two)" >&2
fi
# -v lists each package as it is compiled, and only those; when the binary
# is up to date go build leaves it alone (no link) and prints nothing.
(cd "$root" && go build -v -o "$bin" . 2>&1 | sed -u 's/^/  build: /' >&2; exit "${PIPESTATUS[0]}")
exec "$bin" review "$@"
