#!/usr/bin/env bash
# test.sh: the project's one test command (README and CI call it).
#
# On a fresh Debian 12 machine, as root, it installs the real tools the tests
# use (nginx for proxy behaviour, chromium for the HTML report), then checks
# formatting, runs go vet, and runs every test with the race detector.
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
# binary -> Debian package that provides it. nginx's package carries the gzip
# and proxy modules the proxy tests need.
declare -A want=(
	[nginx]=nginx
	[chromium]=chromium
)

step "checking test tools (nginx, chromium)"
missing_pkgs=()
for bin in "${!want[@]}"; do
	if command -v "$bin" >/dev/null 2>&1; then
		printf '    %-9s %s\n' "$bin" "$(command -v "$bin")"
	else
		printf '    %-9s missing (package %s)\n' "$bin" "${want[$bin]}"
		missing_pkgs+=("${want[$bin]}")
	fi
done
if [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then
	# The Go module proxy is reached over HTTPS.
	missing_pkgs+=(ca-certificates)
fi

if [ "${#missing_pkgs[@]}" -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing_pkgs[*]}) and not root: install them or rerun as root"
	command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing_pkgs[*]}) and no apt-get: install them by hand"

	# Debian's nginx package starts a system nginx on port 80 from its postinst.
	# Our tests run their own nginx processes with their own prefix and port, so
	# a system one is not needed: forbid service starts while installing
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
	step "apt-get install ${missing_pkgs[*]}"
	apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null

	restore_policy
	trap - EXIT

	# On a machine booted with systemd the package also enables nginx for the
	# next boot; keep the system service off so it never holds port 80 or
	# confuses someone reading `ps`. Only done when we installed nginx here.
	if [[ " ${missing_pkgs[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ]; then
		systemctl disable --now nginx >/dev/null 2>&1 || true
	fi

	for bin in "${!want[@]}"; do
		command -v "$bin" >/dev/null 2>&1 || die "$bin still missing after installing ${want[$bin]}"
	done
	echo "    installed: ${missing_pkgs[*]}"
fi

command -v go >/dev/null 2>&1 || die "go not found: install Go (see go.mod for the version) into /usr/local/go"
echo "    go        $(go version)"
echo "    nginx     $(nginx -v 2>&1)"

# ---------------------------------------------------------------- checks
step "gofmt -l"
unformatted="$(gofmt -l . | grep -v '^vendor/' || true)"
if [ -n "$unformatted" ]; then
	echo "$unformatted"
	die "files above are not gofmt-formatted: run gofmt -w on them"
fi
echo "    ok"

step "go vet ./..."
go vet ./...
echo "    ok"

timeout="${TEST_TIMEOUT:-15m}"
# shellcheck disable=SC2206 # word splitting is the point
pkgs=(${TEST_PKGS:-./...})
step "go test -race -count=1 -timeout $timeout ${pkgs[*]}"
go test -race -count=1 -timeout "$timeout" "${pkgs[@]}"

step "all tests passed"
