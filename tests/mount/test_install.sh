#!/usr/bin/env bash
# Installs like sshfs (README "Install"): with the README's own commands
# (meson setup --prefix=/usr, ninja, meson install), the daemon lands in
# /usr/bin, where mount(8)'s FUSE helper (mount.fuse3) finds it on the
# standard PATH, and the man page in /usr/share/man/man1; the README's
# fstab line, with only the mountpoint, key file and API URL changed for
# the test, mounts through mount(8); a file reads; umount; ninja
# uninstall leaves the machine as it was.
#
# First into a scratch DESTDIR under $T_DIR (what would go where), then
# for real into /usr, which needs root: not root, one SKIP point. The real
# install is serialized across worktrees (flock on /usr/bin itself, which
# always exists, so no lock file is left behind) and never
# overwrites an install it did not make: then its points are skipped. A
# run that died half-way is cleaned up by the next one (its list of
# installed files is $MARKER).
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
	t_skip "install into /usr and mount -t fuse.memberspotfs" \
		"needs root (installs into /usr, mounts with mount(8))"
	t_done
	exit
fi
# It builds and installs its own daemon from the source tree: the
# sanitizer, valgrind and evidence-dialect runs of scripts/test would
# only build the same thing again (about a minute each on 2 cores).
if [[ $MSFS_ASAN == 1 || $MSFS_VALGRIND == 1 || -n ${MSFS_DIALECT:-} ]]; then
	t_skip "install into /usr and mount -t fuse.memberspotfs" \
		"runs in scripts/test's plain phase only (it builds its own daemon)"
	t_done
	exit
fi
for tool in meson ninja mount umount flock; do
	command -v "$tool" >/dev/null || t_bail "missing tool: $tool"
done

B=$T_DIR/build-usr
DEST=$T_DIR/dest
LOCK=/usr/bin
MARKER=/var/tmp/memberspotfs-test-install.files
STDPATH=/sbin:/bin:/usr/sbin:/usr/bin
BIN=/usr/bin/memberspotfs
MAN=/usr/share/man/man1/memberspotfs.1
INSTALLED=0
DAEMON=

# =====================================================================
# Cleanup: undo a real install on any exit (runs before lib.sh's own)
# =====================================================================

# remove_listed FILE: removes what a marker lists ("file PATH" lines
# first, then "dir PATH" lines, deepest first: only when empty).
remove_listed() {
	local kind path
	while read -r kind path; do
		[[ $kind == file ]] && rm -f -- "$path"
	done <"$1"
	while read -r kind path; do
		[[ $kind == dir ]] && rmdir -- "$path" 2>/dev/null
	done < <(tac "$1")
	return 0
}

_install_cleanup() {
	local status=$?
	if [[ -n $DAEMON ]] && _t_mounted "$MNT"; then
		umount "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
	fi
	[[ -z $DAEMON ]] || kill "$DAEMON" 2>/dev/null
	if [[ $INSTALLED -eq 1 ]]; then
		ninja -C "$B" uninstall >/dev/null 2>&1
		remove_listed "$MARKER"
		rm -f -- "$MARKER"
	fi
	return "$status"
}
trap '_install_cleanup; _t_cleanup' EXIT

# no_lock CMD...: runs CMD without the descriptor that holds $LOCK, so a
# daemon it leaves running cannot keep the lock.
no_lock() {
	"$@" {LOCK_FD}>&-
}

not_mounted() { ! _t_mounted "$MNT"; }

# The state of the paths an install touches: one line each, "PATH yes|no".
machine_state() {
	local p
	for p in "$BIN" "$MAN" /usr/share/man/man1 /usr/share/man; do
		if [[ -e $p || -L $p ]]; then echo "$p yes"; else echo "$p no"; fi
	done
}

# =====================================================================
# The README's commands and fstab line
# =====================================================================

README=$SRC/README.md
missing=()
for cmd in "meson setup build --prefix=/usr" "ninja -C build" \
	"meson install -C build" "ninja -C build uninstall"; do
	grep -qF -- "$cmd" "$README" || missing+=("$cmd")
done
t_is "${missing[*]}" "" "the README shows the install commands"

mapfile -t lines < <(grep -E '^[^#[:space:]]+[[:space:]]+/[^[:space:]]*[[:space:]]+fuse\.memberspotfs[[:space:]]' "$README")
# "Install" has the plain line; "Sharing a mount" one with gid=/umask= for
# a group that exists only on the admin's machine: the plain one is mounted.
t_ok "the README has fstab lines of type fuse.memberspotfs (${#lines[@]})" \
	test "${#lines[@]}" -ge 1
for l in "${lines[@]}"; do
	[[ $l == *gid=* ]] || { FSTAB_LINE=$l; break; }
done
FSTAB_LINE=${FSTAB_LINE:-}
t_ok "one of them has no gid= (the one mounted here)" test -n "$FSTAB_LINE"
read -r -a F <<<"$FSTAB_LINE"
t_like "${F[3]:-}" '(^|,)api_key_file=/[^,]+(,|$)' \
	"the README's fstab line takes the key from api_key_file"
t_like "${F[3]:-}" '(^|,)allow_other(,|$)' "the README's fstab line has allow_other"
t_is "${#F[@]}" 6 "the README's fstab line has six fields" || t_diag "$FSTAB_LINE"

# =====================================================================
# Build with the README's commands (in a build directory of our own)
# =====================================================================

# nice: other mount tests run in parallel and some of them time things.
t_ok "meson setup --prefix=/usr" nice -n 19 meson setup "$B" "$SRC" --prefix=/usr ||
	t_bail "meson setup failed"
t_ok "ninja" nice -n 19 ninja -C "$B" || t_bail "the build failed"

# ---------------------------------------------------------------------
# Into a scratch DESTDIR
# ---------------------------------------------------------------------

t_ok "meson install with DESTDIR" env DESTDIR="$DEST" meson install -C "$B" --no-rebuild
t_same_lines "$(cd "$DEST" && find . ! -type d | sort)" \
	"$(printf '%s\n' "./usr/bin/memberspotfs" "./usr/share/man/man1/memberspotfs.1")" \
	"DESTDIR install: the daemon in usr/bin, the man page in usr/share/man/man1, nothing else"
t_ok "DESTDIR install: the daemon is executable" test -x "$DEST$BIN"
if command -v man >/dev/null; then
	t_ok "DESTDIR install: the man page renders" \
		sh -c 'MANWIDTH=80 man -l "$1" 2>&1 | grep -q "mount a Memberspot school"' _ "$DEST$MAN"
else
	t_skip "DESTDIR install: the man page renders" "no man(1) on this machine"
fi
t_like "$("$DEST$BIN" --version 2>&1)" "^memberspotfs ${MSFS_VERSION:-[0-9]}" \
	"DESTDIR install: the daemon runs (--version)"

# =====================================================================
# For real, into /usr
# =====================================================================

fake_start --users 5
(umask 077 && printf '%s\n' "$T_KEY" >"$KEYFILE")

exec {LOCK_FD}<"$LOCK"
if ! flock -w 240 "$LOCK_FD"; then
	t_bail "another run held $LOCK for 240 s"
fi
if [[ -s $MARKER ]]; then
	t_diag "an earlier run died before it uninstalled: removing what it listed" \
		"$(cat "$MARKER")"
	remove_listed "$MARKER"
	rm -f -- "$MARKER"
fi
BEFORE=$(machine_state)

REAL=1
if [[ -e $BIN || -e $MAN ]]; then
	REAL=0
	t_diag "memberspotfs is installed on this machine already ($BIN, $MAN):" \
		"it is not overwritten, so the install into /usr is not tested"
fi

real_install() {
	local p d
	# What will be removed, written before anything is installed: the
	# files, and the directories that do not exist yet.
	{
		jq -r '.[]' <<<"$(meson introspect "$B" --installed)" |
			while read -r p; do
				printf 'file %s\n' "$p"
			done
		for p in "$BIN" "$MAN"; do
			d=${p%/*}
			local -a new=()
			while [[ -n $d && ! -e $d ]]; do
				new=("$d" "${new[@]}")
				d=${d%/*}
			done
			for d in "${new[@]}"; do
				printf 'dir %s\n' "$d"
			done
		done
	} >"$MARKER"
	INSTALLED=1
	meson install -C "$B"
}

if [[ $REAL -eq 0 ]]; then
	t_skip "meson install -C build (prefix /usr)" "an install not made by this test is there"
else
	t_ok "meson install -C build (prefix /usr)" real_install
	t_same_lines "$(grep -v '^#' "$B/meson-logs/install-log.txt")" \
		"$(printf '%s\n' "$BIN" "$MAN")" \
		"installed: $BIN and $MAN, nothing else"
	t_is "$(PATH=$STDPATH command -v memberspotfs | xargs -r readlink -f)" "$BIN" \
		"the daemon is found on the standard PATH ($STDPATH)"
	if command -v man >/dev/null; then
		t_is "$(man -w memberspotfs 2>&1)" "$MAN" "man memberspotfs finds the man page"
	else
		t_skip "man memberspotfs finds the man page" "no man(1) on this machine"
	fi

	# -----------------------------------------------------------------
	# mount(8) with the README's fstab line
	# -----------------------------------------------------------------
	mkdir -p "$MNT"
	line=$(awk -v mp="$MNT" -v key="$KEYFILE" -v url="$FAKE_URL" '{
		$2 = mp
		sub(/api_key_file=[^,]*/, "api_key_file=" key, $4)
		$4 = $4 ",api_url=" url
		print
	}' <<<"$FSTAB_LINE")
	printf '%s\n' "$line" >"$T_DIR/fstab"
	t_diag "fstab: $line"
	t_ok "mount -T FSTAB MOUNTPOINT (the README's line, standard PATH)" \
		no_lock env PATH=$STDPATH mount -T "$T_DIR/fstab" "$MNT" ||
		t_diag_file "$T_DIR/err"
	t_is "$(awk -v m="$MNT" '$5 == m { sub(/.* - /, ""); print $1 }' /proc/self/mountinfo)" \
		fuse.memberspotfs "mounted at MOUNTPOINT as fuse.memberspotfs"
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/exe" 2>/dev/null) == "$BIN" ]] || continue
		tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF -- "$MNT" || continue
		DAEMON=${p#/proc/}
	done
	if [[ -n $DAEMON ]]; then
		args=$(tr '\0' ' ' <"/proc/$DAEMON/cmdline")
		t_pass "the daemon runs from $BIN (pid $DAEMON)"
		t_diag "its arguments: $args"
		t_like "$args" "-o [^ ]*nodelete" \
			"mount.fuse3 passes the line's options on (nodelete)"
		# grep -f: the key is never put on a command line by the test
		if grep -qF -f "$KEYFILE" "/proc/$DAEMON/cmdline" "/proc/$DAEMON/environ"; then
			t_fail "the key is not in the daemon's arguments or environment"
		else
			t_pass "the key is not in the daemon's arguments or environment"
		fi
	else
		t_fail "the daemon runs from $BIN" "no process of $BIN has $MNT in its arguments"
	fi
	kopts=$(awk -v m="$MNT" '$5 == m { print $NF }' /proc/self/mountinfo)
	t_diag "the kernel's mount options: $kopts"
	t_like "$kopts" '(^|,)allow_other(,|$)' "allow_other reached the kernel's mount"

	# Reads, and the line's nodelete holds.
	EMAIL=$(fake_state | jq -r '.users[0].email')
	t_same_lines "$(ls "$MNT/users" 2>&1)" \
		"$(fake_state | jq -r '.users[].email' | enc_lines)" \
		"ls users/ through the fstab mount lists the school's members"
	t_is "$(jq -r .email "$MNT/users/$(enc "$EMAIL")/user.json" 2>&1)" "$EMAIL" \
		"a member's user.json reads through the fstab mount"
	fake_reset
	t_fails_with EPERM "nodelete from the fstab line: rmdir users/EMAIL is refused" \
		rmdir "$MNT/users/$(enc "$EMAIL")"
	t_cost "nodelete: no delete request" "DELETE /v1/users/delete-users=0" \
		"POST /v1/users/delete-users=0"

	# -----------------------------------------------------------------
	# umount, uninstall
	# -----------------------------------------------------------------
	t_ok "umount MOUNTPOINT" umount "$MNT"
	t_ok "nothing mounted at MOUNTPOINT any more" not_mounted
	if [[ -n $DAEMON ]]; then
		for _ in $(seq 100); do
			kill -0 "$DAEMON" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$DAEMON" 2>/dev/null; then
			t_fail "the daemon exits after umount"
		else
			t_pass "the daemon exits after umount"
			DAEMON=
		fi
	fi

	t_ok "ninja -C build uninstall" ninja -C "$B" uninstall
	remove_listed "$MARKER"
	rm -f -- "$MARKER"
	INSTALLED=0
	t_is "$(machine_state)" "$BEFORE" "the machine is as it was before the install"
fi

t_done
