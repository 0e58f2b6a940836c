#!/bin/sh
# Builds the ssebench image with buildah and no base image from a registry:
#   deploy/build-image.sh [TAG]        (default TAG: localhost/ssebench:dev)
# Needs go and buildah; CA_BUNDLE overrides the host's CA certificates file.
set -eu
tag=${1:-localhost/ssebench:dev}
root=$(cd "$(dirname "$0")/.." && pwd)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ctx/ssebench" .)
cp "${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/ca-certificates.crt"
cp "$root/deploy/Containerfile.scratch" "$ctx/Containerfile"
# chroot isolation: no daemon, and it works inside a container too.
buildah build --isolation chroot -t "$tag" -f "$ctx/Containerfile" "$ctx"
