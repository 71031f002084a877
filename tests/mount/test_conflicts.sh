#!/usr/bin/env bash
# No lost updates (LAYOUT.md "Rules"): a save is judged against what the
# saving process read of the file, not against the mount's current cache.
#
# - A process reads properties.json, the school changes Company meanwhile
#   (through the API, as another admin would), the same process saves with
#   only Phone changed: only Phone is sent, Company keeps the server's value.
# - The same process saving a changed Company: nothing is sent, close()
#   fails with ESTALE, .memberspot/errors names Company with both values.
# - The same for properties/Company, and through vim (ex mode, a shell
#   escape between its read and its write).
# - Controls: without a change on the server the same saves succeed; a
#   writer that never read the file (echo >) is not refused; a second save
#   by the same process starts from its first.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

fake_start --users 12 --seed 5
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
sj() { jq -r "$@" <<<"$STATE"; }

msfs_mount cache_ttl=3600 || t_bail "cannot mount"
M=$MNT

E=$(sj 'first(.users[] | select(.customProperties["p-company"] != null) | .email)')
[[ -n $E ]] || t_bail "no member with a Company value"
D=$M/users/$(enc "$E")
P_CO=$(sj 'first(.properties[] | select(.name == "Company") | .id)')
P_PH=$(sj 'first(.properties[] | select(.name == "Phone number") | .id)')
[[ -n $P_CO && -n $P_PH ]] || t_bail "no Company / Phone number properties"

# $SET ID VALUE: another admin changes a property through the API (the
# item key each dialect takes); a script, so other processes can run it.
SET=$T_DIR/server_set
SET_KEY=propertyId
dialect_evidence && SET_KEY=id
export SET_EMAIL=$E SET_KEY SET_URL=$FAKE_URL/v1/users/set-custom-user-properties \
	SET_HEADER=$T_DIR/api.header
cat >"$SET" <<'EOS'
#!/bin/sh
body=$(jq -nc --arg e "$SET_EMAIL" --arg k "$SET_KEY" --arg p "$1" --arg v "$2" \
	'{email: $e, properties: [{($k): $p, value: $v}]}')
curl -sS --fail --max-time 20 -H @"$SET_HEADER" \
	-H 'Content-Type: application/json' --data-binary "$body" "$SET_URL" >/dev/null
EOS
chmod 700 "$SET"
server_set() { "$SET" "$@" || t_bail "cannot change a property through the fake"; }
server_value() { fake_user "$E" | jq -r --arg p "$1" '.customProperties[$p] // ""'; }

MARK=0
mark() { MARK=$(fake_log | jq length); }
# the values the API accepted since the mark (a refused request, such as
# the evidence dialect's first property write, changed nothing)
sent() {
	fake_changes_since "$MARK" |
		jq -c '[.[] | select(.status < 300) | .body.properties[]? | .value]'
}

# edit FILE SCRIPT: one python process reads FILE, runs SCRIPT (a shell
# command, another process: the change on the server), then writes the
# result of its edit to FILE and closes it. EDIT is a python expression
# over `text` (what it read). Prints "ok" or the errno name of close().
edit() {
	python3 -c '
import errno, json, os, subprocess, sys
path, script, expr = sys.argv[1:4]
with open(path) as f:
    text = f.read()
subprocess.run(["sh", "-c", script], check=True)
new = eval(expr)
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
try:
    os.write(fd, new.encode())
    os.close(fd)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
' "$@"
}

# ---- properties.json ---------------------------------------------------
server_set "$P_CO" "Start GmbH"
server_set "$P_PH" "111"
echo / >"$M/.memberspot/refresh"
mark
got=$(edit "$D/properties.json" "true" \
	'json.dumps({**json.loads(text), "Phone number": "222"}, indent=2) + "\n"')
t_is "$got" ok "control: read, nothing changed elsewhere, save Phone: close() is 0"
t_is "$(sent)" '["222"]' "control: only Phone was sent"

mark
# shellcheck disable=SC2016
# the mount then reads the member again (as any ls or cat after the TTL
# would): a save compared with that cache would revert Company
got=$(edit "$D/properties.json" "$SET $P_CO 'Other Admin AG' &&
	echo / >'$M/.memberspot/refresh' && cat '$D/properties.json' >/dev/null" \
	'json.dumps({**json.loads(text), "Phone number": "333"}, indent=2) + "\n"')
t_is "$got" ok "read, Company changed on the server, save with only Phone changed: close() is 0"
t_is "$(sent)" '["Other Admin AG","333"]' \
	"only Phone was sent by the mount (after the other admin's Company)"
t_is "$(server_value "$P_CO")" "Other Admin AG" "Company keeps the server's value"
t_is "$(server_value "$P_PH")" "333" "Phone has the new value"

mark
got=$(edit "$D/properties.json" "$SET $P_CO"' "Third AG"' \
	'json.dumps({**json.loads(text), "Company": "Mine GmbH"}, indent=2) + "\n"')
t_is "$got" ESTALE "read, Company changed on the server, save a changed Company: close() fails with ESTALE"
t_is "$(sent)" '["Third AG"]' "nothing was sent by the mount"
t_is "$(server_value "$P_CO")" "Third AG" "the server keeps the other admin's Company"
t_like "$(cat "$M/.memberspot/errors")" \
	'Company was changed on the server since you read it: you started from "Other Admin AG", the server now has "Third AG"' \
	".memberspot/errors names Company, the value started from and the server's"
t_is "$(jq -r .Company "$D/properties.json")" "Third AG" \
	"properties.json shows the server's Company after the refusal"

# ---- properties/Company ------------------------------------------------
mark
got=$(edit "$D/properties/Company" "$SET $P_CO"' "Fourth AG"' '"Mine GmbH\n"')
t_is "$got" ESTALE "properties/Company: read, changed on the server, save: ESTALE"
t_is "$(sent)" '["Fourth AG"]' "properties/Company: nothing was sent by the mount"
t_is "$(server_value "$P_CO")" "Fourth AG" "properties/Company: the server keeps its value"

mark
got=$(edit "$D/properties/Company" "true" '"Mine GmbH\n"')
t_is "$got" ok "control: properties/Company read and saved with no change elsewhere: ok"
t_is "$(server_value "$P_CO")" "Mine GmbH" "control: the new value is on the server"

mark
got=$(edit "$D/properties/Company" "$SET $P_CO"' "Same AG"' '"Same AG\n"')
t_is "$got" ok "the server already holds the new value: no conflict"

# a writer that never read the file is not judged against a base
server_set "$P_CO" "Blind Before"
mark
t_ok "echo > properties/Company after a change elsewhere (never read): succeeds" \
	sh -c 'echo "Blind After" >"$1"' _ "$D/properties/Company"
t_is "$(server_value "$P_CO")" "Blind After" "the blind write is on the server"

# a second save by the same process starts from its first
got=$(python3 -c '
import os, sys
p = sys.argv[1]
with open(p) as f:
    f.read()
out = []
for v in ("Twice 1\n", "Twice 2\n"):
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, v.encode())
    try:
        os.close(fd); out.append("ok")
    except OSError as e:
        out.append(str(e.errno))
print(" ".join(out))
' "$D/properties/Company")
t_is "$got" "ok ok" "two saves by one process: the second starts from the first"
t_is "$(server_value "$P_CO")" "Twice 2" "the second save is on the server"

# ---- vim ---------------------------------------------------------------
if command -v vim >/dev/null; then
	export HOME=$T_DIR/home XDG_CONFIG_HOME=$T_DIR/home/.config
	mkdir -p "$HOME"
	unset VIMINIT EXINIT MYVIMRC
	server_set "$P_CO" "Vim Start"
	server_set "$P_PH" "444"
	echo / >"$M/.memberspot/refresh"
	# vim reads at start, the shell escape changes Company elsewhere,
	# then only the Phone line is changed and written. The mount shows
	# the file's new mtime once it has seen the change, so vim notices:
	# the autocommand keeps the buffer as read (no reload), and vim asks
	# "The file has been changed since reading it!!! Do you really want to
	# write to it?", which the user answers y. Then the mount's own rule
	# decides. (vim's backup copy, read just before the write, must not
	# count as what the user started from.)
	status=0
	vim -V1"$T_DIR/vim.log" -es -u NONE -i NONE -c 'au FileChangedShell * let v:fcs_choice = ""' \
		-c "silent !$SET $P_CO 'Vim Other' && echo / >'$M/.memberspot/refresh' && cat '$D/properties.json' >/dev/null" \
		-c '%s/"444"/"555"/' -c 'wq' "$D/properties.json" <<<y >"$T_DIR/vim.out" 2>&1 || status=$?
	t_like "$(cat "$T_DIR/vim.log")" 'changed since reading it' \
		"vim: it noticed the change on the server (the file's mtime moved)"
	t_is "$status" 0 "vim: read, Company changed elsewhere, Phone edited, :wq succeeds"
	t_is "$(server_value "$P_CO")" "Vim Other" "vim: Company keeps the server's value"
	t_is "$(server_value "$P_PH")" "555" "vim: Phone has the new value" ||
		t_diag "errors:" "$(tail -n 5 "$M/.memberspot/errors")" \
			"journal:" "$(tail -n 3 "$M/.memberspot/journal")"

	status=0
	vim -es -u NONE -i NONE -c 'au FileChangedShell * let v:fcs_choice = ""' \
		-c "silent !$SET $P_CO 'Vim Third'" \
		-c '%s/"Vim Other"/"Vim Mine"/' -c 'wq' "$D/properties.json" <<<y >"$T_DIR/vim.out" 2>&1 || status=$?
	t_ok "vim: changing a Company changed elsewhere since it was read fails (exit $status)" \
		test "$status" -ne 0
	t_is "$(server_value "$P_CO")" "Vim Third" "vim: the server keeps the other admin's Company"
else
	t_skip "vim tests" "vim is not installed (scripts/install-deps)"
fi

t_done
