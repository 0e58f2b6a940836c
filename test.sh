#!/usr/bin/env bash
# test.sh: the project's one test command (README and CI call it).
#
# On a fresh Debian 12 machine, as root, it installs the real tools the tests
# use (nginx, HAProxy, Apache httpd and Caddy for proxy behaviour, Prometheus
# for live metrics, chromium
# for the HTML report, Node.js for the third-party SSE servers), installs
# those servers' npm packages (testdata/node, from its package-lock.json),
# then checks formatting, runs go vet, and runs every test with the race
# detector.
# apt is skipped entirely when every tool is already present, so repeat runs
# are fast. Needs no stdin (CI runs it non-interactively).
#
# Environment:
#   TEST_TIMEOUT   go test -timeout (default 15m)
#   TEST_PKGS      packages to test (default ./...)
set -euo pipefail

cd "$(dirname "$0")"

export DEBIAN_FRONTEND=noninteractive
# Go from the official tarball lives here; a root shell under CI may not have it on PATH.
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
# Go is not installed from apt: Debian 12's is far older than go.mod needs.
command -v go >/dev/null 2>&1 || die "go not found: install Go (go.mod names the version) into /usr/local/go"

# What the tests need, as "binary-or-path:Debian package": the real programs
# tests drive (nginx, whose package carries the proxy and gzip modules;
# haproxy, apache2 and caddy, the other proxies users put in front of a
# stream; prometheus, which scrapes a run's --metrics-addr; buildah and
# podman, which build (and, where the sandbox lets them, run) the image
# without a registry; iproute2, whose ip netns makes the hosts of the
# multi-host test; chromium, which renders the HTML report; node and npm, which run
# Express, koa, better-sse, Fastify and Hono servers), a C toolchain for go test -race
# (cgo), and CA certificates for the Go module proxy.
tools=(
	nginx:nginx
	haproxy:haproxy
	apache2:apache2
	caddy:caddy
	prometheus:prometheus
	buildah:buildah
	podman:podman
	ip:iproute2
	chromium:chromium
	node:nodejs
	npm:npm
	gcc:gcc
	/usr/include/stdio.h:libc6-dev
	/etc/ssl/certs/ca-certificates.crt:ca-certificates
)
have() {
	case "$1" in
	/*) [ -s "$1" ] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

step "checking test tools"
missing_pkgs=()
for tool in "${tools[@]}"; do
	what="${tool%%:*}" pkg="${tool#*:}"
	if have "$what"; then
		printf '    %-16s ok\n' "$pkg"
	else
		printf '    %-16s missing (%s)\n' "$pkg" "$what"
		missing_pkgs+=("$pkg")
	fi
done

if [ "${#missing_pkgs[@]}" -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing_pkgs[*]}) and not root: install them or rerun as root"
	command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing_pkgs[*]}) and no apt-get: install them by hand"

	# Debian's nginx, haproxy, apache2 and prometheus packages start a system service from
	# their postinst. Our tests run their own proxy processes with their own
	# config and port, so system ones are not needed: forbid service starts while installing
	# (policy-rc.d exit 101 = "action not allowed"), restoring any existing
	# policy afterwards.
	policy=/usr/sbin/policy-rc.d
	policy_backup=""
	if [ -e "$policy" ]; then
		policy_backup="$(mktemp)"
		cp -p "$policy" "$policy_backup"
	fi
	restore_policy() {
		if [ -n "$policy_backup" ]; then
			mv -f "$policy_backup" "$policy"
		else
			rm -f "$policy"
		fi
	}
	trap restore_policy EXIT
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"

	step "apt-get update"
	apt-get update -qq
	step "apt-get install ${missing_pkgs[*]} (quietly; this takes a minute)"
	apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null

	restore_policy
	trap - EXIT

	# On a machine booted with systemd the package also enables nginx for the
	# next boot; keep the system service off so it never holds port 80 or
	# confuses someone reading `ps`. Only done when we installed nginx here.
	if [ -d /run/systemd/system ]; then
		for svc in nginx haproxy apache2 caddy prometheus; do
			if [[ " ${missing_pkgs[*]} " == *" $svc "* ]]; then
				systemctl disable --now "$svc" >/dev/null 2>&1 || true
			fi
		done
	fi

	for tool in "${tools[@]}"; do
		have "${tool%%:*}" || die "${tool%%:*} still missing after installing ${tool#*:}"
	done
	echo "    installed: ${missing_pkgs[*]}"
fi

echo "    $(go version)"
echo "    $(nginx -v 2>&1) at $(command -v nginx)"
echo "    $(haproxy -v 2>&1 | head -1)"
echo "    $(apache2 -v 2>&1 | head -1)"
echo "    caddy $(caddy version 2>&1 | head -1)"
echo "    $(prometheus --version 2>&1 | head -1)"
echo "    $(buildah --version 2>&1 | head -1); $(podman --version 2>&1 | head -1)"
echo "    $(chromium --version 2>/dev/null || echo "chromium at $(command -v chromium)")"
echo "    node $(node --version), npm $(npm --version)"
node_major="$(node --version | sed 's/^v\([0-9]*\).*/\1/')"
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: the test servers (Fastify 5) need Node.js 20 or later"

# ---------------------------------------------------------------- node servers
# The third-party SSE servers the tests run (testdata/node/*.js) use these
# packages, pinned by package-lock.json (npm ci installs exactly that tree;
# a few seconds from npm's cache).
step "npm ci for the test servers (testdata/node)"
(cd testdata/node && npm ci --no-audit --no-fund --loglevel=error)
echo "    ok"

# ---------------------------------------------------------------- checks
step "gofmt -l"
unformatted="$(gofmt -l . | grep -v '^vendor/' || true)"
if [ -n "$unformatted" ]; then
	printf '%s\n' "$unformatted" >&2
	die "files above are not gofmt-formatted: run gofmt -w on them"
fi
echo "    ok"

step "go vet ./..."
go vet ./...
echo "    ok"

timeout="${TEST_TIMEOUT:-15m}"
# shellcheck disable=SC2206 # word splitting is the point
pkgs=(${TEST_PKGS:-./...})
# -p 1: one package's tests at a time. Many tests hold a figure to ground
# truth (delivery within 2 ms of what the server injected, a capacity knee
# at the stream count a server's cost puts it); another package's load on
# the same two cores would move those figures. Tests inside a package
# still run in parallel where they are marked so.
step "go test -race -count=1 -p 1 -timeout $timeout ${pkgs[*]}"
go test -race -count=1 -p 1 -timeout "$timeout" "${pkgs[@]}"

step "all tests passed"
