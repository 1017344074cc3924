#!/bin/sh
# Build the Elastic Beanstalk source bundle from the committed tree: the project, its pinned
# constraints, and this folder's Procfile, requirements.txt, .ebextensions/ and .platform/.
# Usage: deploy/eb/bundle.sh [OUT.zip]   (default dist/tipline-eb.zip)
set -eu
root=$(git rev-parse --show-toplevel)
out=${1:-$root/dist/tipline-eb.zip}
case $out in /*) ;; *) out=$PWD/$out ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive --format=tar HEAD -- . ':(exclude)tests' ':(exclude)bench' | tar -x -C "$work"
cp -R "$root/deploy/eb/Procfile" "$root/deploy/eb/requirements.txt" "$root/deploy/eb/.ebextensions" \
      "$root/deploy/eb/.platform" "$work/"
git -C "$root" describe --tags --always --dirty > "$work/RELEASE"
mkdir -p "$(dirname "$out")"
rm -f "$out"
(cd "$work" && python3 - "$out" <<'PY'
import os, sys, zipfile
out = sys.argv[1]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
    for folder, _dirs, files in os.walk("."):
        for name in sorted(files):
            path = os.path.join(folder, name)
            info = zipfile.ZipInfo.from_file(path, os.path.normpath(path))
            with open(path, "rb") as handle:
                bundle.writestr(info, handle.read())
PY
)
echo "$out ($(cat "$work/RELEASE"))"
