#!/usr/bin/env bash
# Security (GitHub issue "Survives the real world", point 6):
#   - TLS certificates are verified by default: a server with a self-signed
#     certificate is refused at start-up with one clear line about the
#     certificate; -o insecure mounts it and warns on stderr;
#   - the API key shows nowhere: ps, the daemon's stderr (even with -d),
#     the journal, .memberspot/errors and status, /proc/PID/environ when it
#     came from MEMBERSPOT_API_KEY, /proc/PID/cmdline, this test's output;
#   - files are 0600/0400 (control files 0600), directories 0700, owned by the mounting
#     user; without allow_other another user cannot read the mount;
#   - sharing (issue "Sharing"): allow_other brings default_permissions,
#     so with the default umask 0077 every read and write of member data
#     by another user fails with EACCES and sends nothing; with
#     gid=GROUP,umask=0007 a member of GROUP reads and writes, others
#     still cannot; uid=USER gives the tree to USER;
#   - no core dump and no ptrace can reach the key: RLIMIT_CORE 0 and
#     PR_SET_DUMPABLE 0 in the daemon.
# The key itself is never put on a command line here (grep -f reads it
# from the key file), and never printed.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

# Everything this script prints also goes to a file, checked for the key
# at the end.
exec > >(tee "$T_DIR/tap.out")

command -v openssl >/dev/null || t_bail "missing tool: openssl (scripts/install-deps installs it)"

fake_start --users 12 --seed 51
ME=$(id -u)

# has_key FILE...: the key occurs in one of the files (name printed).
has_key() { grep -lF -f "$KEYFILE" -- "$@" 2>/dev/null; }

# =====================================================================
# TLS: a local HTTPS front for the fake, with a self-signed certificate
# =====================================================================

TLS=$T_DIR/tls
mkdir -p "$TLS"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS/key.pem" -out "$TLS/cert.pem" \
	-days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	>"$TLS/openssl.log" 2>&1 || t_bail "openssl could not make a certificate: $(tail -n 3 "$TLS/openssl.log")"
cat >"$TLS/front.py" <<'EOF'
# HTTPS in front of the fake API (python3 ssl): forwards method, path, the
# key header, content type and body; answers with the fake's status, type,
# Retry-After and body.
import http.client, os, ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
cert, key, portfile, upstream = sys.argv[1:5]
up_host, up_port = upstream.rsplit(":", 1)

class Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("x-api-key", "content-type", "accept")}
        up = http.client.HTTPConnection(up_host, int(up_port), timeout=30)
        up.request(self.command, self.path, body=body, headers=headers)
        r = up.getresponse()
        data = r.read()
        up.close()
        self.send_response(r.status)
        for k in ("Content-Type", "Retry-After"):
            if r.getheader(k):
                self.send_header(k, r.getheader(k))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_DELETE = forward

server = ThreadingHTTPServer(("127.0.0.1", 0), Front)
server.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
EOF
python3 "$TLS/front.py" "$TLS/cert.pem" "$TLS/key.pem" "$TLS/port" "${FAKE_URL#http://}" \
	>"$TLS/front.log" 2>&1 &
FRONT_PID=$!
# shellcheck disable=SC2154 # st is set inside the trap
trap 'st=$?; kill "$FRONT_PID" 2>/dev/null; (exit "$st"); _t_cleanup' EXIT
for ((i = 0; i < 50; i++)); do
	[[ -s $TLS/port ]] && break
	sleep 0.1
done
[[ -s $TLS/port ]] || t_bail "the HTTPS front did not start: $(tail -n 3 "$TLS/front.log")"
HTTPS_URL=https://127.0.0.1:$(cat "$TLS/port")
t_ok "control: the HTTPS front answers (curl --cacert)" \
	curl -sS --fail --max-time 10 --cacert "$TLS/cert.pem" -H @"$T_DIR/api.header" "$HTTPS_URL/api-auth"

# Verification on by default: refused at start-up, one line, about the
# certificate, and not blamed on the key.
fake_reset
msfs_try -t 30 -f -o "api_url=$HTTPS_URL,api_key_file=$KEYFILE,timeout=5" "$MNT"
t_is "$TRY_MOUNTED" 0 "self-signed certificate: nothing mounted"
t_ok "self-signed certificate: exits non-zero (status $TRY_STATUS)" \
	test "$TRY_STATUS" != timeout -a "$TRY_STATUS" != 0
t_is "$(printf '%s' "$TRY_ERR" | grep -c '')" 1 "self-signed certificate: one line on stderr" ||
	t_diag "stderr: $TRY_ERR"
t_like "$TRY_ERR" '[Cc]ertificate|TLS|SSL' \
	"self-signed certificate: the line says it is about the certificate (TLS)"
t_is "$(grep -ciE 'reject|invalid|key check' <<<"$TRY_ERR")" 0 \
	"self-signed certificate: the line does not blame the key"
t_cost "self-signed certificate: no request got through to the API" "total=0"
t_like "$TRY_ERR" '-o insecure' "self-signed certificate: the line names -o insecure as the way past it"

# A handshake that fails for another reason (https:// to a plain HTTP
# server): about TLS, but no -o insecure hint, which could not help.
msfs_try -t 30 -f -o "api_url=https${FAKE_URL#http},api_key_file=$KEYFILE,timeout=5" "$MNT"
t_is "$TRY_MOUNTED" 0 "https:// to a plain HTTP server: nothing mounted"
t_like "$TRY_ERR" 'TLS|SSL' "https:// to a plain HTTP server: the line says TLS failed" ||
	t_diag "stderr: $TRY_ERR"
t_is "$(grep -c 'insecure' <<<"$TRY_ERR")" 0 \
	"https:// to a plain HTTP server: no -o insecure hint (it would not help)"

# localhost, the name in the certificate, changes nothing: still untrusted
msfs_try -t 30 -f -o "api_url=https://localhost:${HTTPS_URL##*:},api_key_file=$KEYFILE,timeout=5" "$MNT"
t_is "$TRY_MOUNTED" 0 "self-signed certificate via https://localhost: nothing mounted"

# -o insecure: mounts, and warns.
msfs_try -t 30 -f -o "api_url=$HTTPS_URL,api_key_file=$KEYFILE,timeout=5,insecure" "$MNT"
t_is "$TRY_MOUNTED" 1 "-o insecure: mounted over the self-signed certificate" || t_diag "stderr: $TRY_ERR"
t_like "$TRY_ERR" '[Ww]arning.*(TLS|[Cc]ertificate)|(TLS|[Cc]ertificate).*[Ww]arning|not verified' \
	"-o insecure: a warning on stderr"
PLAIN_URL=$FAKE_URL
FAKE_URL=$HTTPS_URL # msfs_mount's api_url
msfs_mount timeout=5 insecure || true
FAKE_URL=$PLAIN_URL
if [[ -n $MSFS_PID ]]; then
	t_ok "-o insecure: ls offers/ works over HTTPS" ls "$MNT/offers"
	t_same_lines "$T_OUT" "$(fake_state | jq -r '.offers[].id' | enc_lines)" "-o insecure: with the fake's offers"
	t_like "$(cat "$MSFS_LOG")" '[Ww]arning' "-o insecure: the mounted daemon warned on stderr too"
	msfs_unmount
fi

# =====================================================================
# The key: nowhere to be seen
# =====================================================================

JOURNAL=$T_DIR/state/journal.jsonl
msfs_mount -d cache_ttl=1 "journal=$JOURNAL" || t_bail "cannot mount"
M=$MNT
E=$(fake_state | jq -r '.users[6].email')
O=$(fake_state | jq -r '.offers[0].id')
# reads, a 404, changes that succeed and fail, an EACCES from the API
ls "$M/users" "$M/offers" >/dev/null
cat "$M/users/$(enc "$E")/user.json" "$M/users/$(enc "$E")/login-token" >/dev/null
cat "$M/users/nobody-$RANDOM@example.com/user.json" 2>/dev/null
echo "key-test-$RANDOM@example.com,Key,Test" >"$M/offers/$(enc "$O")/grant"
echo "Key GmbH" >"$M/users/$(enc "$E")/properties/Company"
{ echo "not-an-email" >"$M/offers/$(enc "$O")/grant"; } 2>/dev/null
fake_config '{"error_rate": 1.0, "error_status": 401}'
sleep 1.2
{
	cat "$M/users/$(enc "$(fake_state | jq -r '.users[7].email')")/user.json"
	echo "Denied GmbH" >"$M/users/$(enc "$E")/properties/Company"
} 2>/dev/null
fake_config '{"error_rate": 0, "error_status": 500}'
cat "$M/.memberspot/status" >"$T_DIR/status.copy"
cat "$M/.memberspot/errors" >"$T_DIR/errors.copy"
cat "$M/.memberspot/journal" >"$T_DIR/journal.copy"
t_ok "control: .memberspot/errors recorded the failures (401, 404)" \
	grep -qE '401|404' "$T_DIR/errors.copy"
t_ok "control: the journal file has lines" test -s "$JOURNAL"
t_ok "control: the daemon's -d log traces operations" grep -q 'LOOKUP\|lookup\|getattr\|GETATTR' "$MSFS_LOG"

t_is "$(ps -eww -o args | grep -F -f "$KEYFILE" | grep -v grep)" "" "the key is in no process's arguments (ps -eo args)"
t_is "$(has_key "/proc/$MSFS_PID/cmdline" && echo found)" "" "the key is not in /proc/PID/cmdline"
t_is "$(has_key "$T_DIR/status.copy" "$T_DIR/errors.copy" "$T_DIR/journal.copy")" "" \
	"the key is not in .memberspot/status, errors or journal"
t_is "$(has_key "$JOURNAL")" "" "the key is not in the journal file"
t_is "$(stat -c '%a %u' "$JOURNAL")" "600 $ME" "the journal file is 0600, mine"
t_is "$(stat -c '%a' "$(dirname "$JOURNAL")")" 700 "a journal directory it made is 0700"
msfs_unmount
t_is "$(has_key "$MSFS_LOG")" "" "the key is not in the daemon's stderr with -d (after a 401, 404s and changes)"

# MEMBERSPOT_API_KEY: accepted, then wiped from the process environment.
mkdir -p "$MNT"
# (the key travels in the environment of this one process only)
MEMBERSPOT_API_KEY=$T_KEY "$MSFS_BIN" -f -o "api_url=$FAKE_URL" "$MNT" </dev/null \
	>"$T_DIR/envkey.log" 2>&1 &
EK_PID=$!
for ((i = 0; i < 100; i++)); do
	_t_mounted "$MNT" && break
	kill -0 "$EK_PID" 2>/dev/null || break
	sleep 0.1
done
if _t_mounted "$MNT"; then
	t_pass "mounted with the key from MEMBERSPOT_API_KEY"
	t_ok "it works" ls "$MNT/offers"
	t_is "$(has_key "/proc/$EK_PID/environ" && echo found)" "" \
		"the key is not in /proc/PID/environ (the daemon wiped it)"
	t_is "$(tr '\0' '\n' <"/proc/$EK_PID/environ" | grep -c '^MEMBERSPOT_API_KEY=.')" 0 \
		"MEMBERSPOT_API_KEY is empty or gone in /proc/PID/environ"
	t_is "$(ps -eww -o args | grep -F -f "$KEYFILE" | grep -v grep)" "" "the key is in no process's arguments"
	fusermount3 -u "$MNT"
else
	t_fail "mounted with the key from MEMBERSPOT_API_KEY" "$(tail -n 5 "$T_DIR/envkey.log")"
fi
for ((i = 0; i < 100; i++)); do
	kill -0 "$EK_PID" 2>/dev/null || break
	sleep 0.1
done
kill "$EK_PID" 2>/dev/null
wait "$EK_PID" 2>/dev/null
t_is "$(has_key "$T_DIR/envkey.log")" "" "the key is not in that daemon's stderr"

# =====================================================================
# Modes and owner
# =====================================================================

msfs_mount cache_ttl=600 || t_bail "cannot mount"
M=$MNT
cat "$M/exams/exam-1/results.json" >/dev/null
E=$(fake_state | jq -r '.users[6].email')
cat "$M/users/$(enc "$E")/progress.json" >/dev/null
# every entry down to users/E/x/y, exams/X/y, offers/O/members/E
probs=$(find "$M" -mindepth 1 -maxdepth 4 -printf '%y %m %U %P\n' 2>&1 | awk -v me="$ME" '
		$3 != me { print "not mine: " $0; next }
		$1 == "d" && $2 != "700" { print "dir not 0700: " $0; next }
		$1 == "f" && $2 != "600" && $2 != "400" { print "file not 0600/0400: " $0; next }
		$1 != "d" && $1 != "f" && $1 != "l" { print "odd type: " $0 }')
t_is "$(head -n 20 <<<"$probs")" "" "every file is 0600 or 0400, every directory 0700, all owned by uid $ME"
t_is "$(find "$M" -maxdepth 4 -type f -perm /044 | head -n 5)" "" "no file is readable by group or others"
t_is "$(find "$M" -maxdepth 4 -type f -perm /022 | head -n 5)" "" "no file is writable by group or others"
t_ok "control: find saw the files (README, user.json, grant)" \
	sh -c 'find "$1" -maxdepth 4 -type f | grep -q "/README$" && find "$1" -maxdepth 4 -type f | grep -q "/user.json$" && find "$1" -maxdepth 4 -type f | grep -q "/grant$"' _ "$M"

# =====================================================================
# Other users: not without allow_other; with it, as the modes say
# =====================================================================

# as_nobody, as_member CMD...: CMD as nobody (no groups), or as SHARE_USER
# with its groups.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_member() { setpriv --reuid="$SHARE_USER" --regid="$(id -g "$SHARE_USER")" --init-groups "$@"; }
# mount_opts: the options of the mount on $MNT, as the kernel has them
mount_opts() { awk -v m="$MNT" '$5 == m { print $NF }' /proc/self/mountinfo; }

# A group of admins sharing a mount, and one of them. Made once per
# machine and left in place (a parallel run of this script may use them).
SHARE_GROUP=msfs-test-admins
SHARE_USER=msfs-test-admin
if [[ $ME -eq 0 ]] && command -v groupadd >/dev/null; then
	getent group "$SHARE_GROUP" >/dev/null || groupadd -f "$SHARE_GROUP"
	id -u "$SHARE_USER" >/dev/null 2>&1 ||
		useradd -M -N -g nogroup -G "$SHARE_GROUP" -d /nonexistent \
			-s /usr/sbin/nologin "$SHARE_USER" 2>/dev/null
	id -nG "$SHARE_USER" 2>/dev/null | grep -qw -- "$SHARE_GROUP" ||
		usermod -a -G "$SHARE_GROUP" "$SHARE_USER" 2>/dev/null
fi

if [[ $ME -ne 0 ]] || ! command -v setpriv >/dev/null ||
	! id -nG "$SHARE_USER" 2>/dev/null | grep -qw -- "$SHARE_GROUP"; then
	t_skip "other users and a shared mount" "needs root, setpriv, groupadd and useradd"
	msfs_unmount
else
	# The way to the mountpoint must be open to "nobody", so that a
	# refusal comes from the mount, not from the 0700 temporary directory.
	# (The key file in it stays 0600.)
	chmod 755 "$T_DIR"
	t_fails_with EACCES "without allow_other: nobody cannot cat README (Permission denied)" \
		as_nobody cat "$M/README"
	t_fails_with EACCES "without allow_other: nobody cannot ls the mount" as_nobody ls "$M"
	t_fails_with EACCES "without allow_other: nobody cannot cat a member's user.json" \
		as_nobody cat "$M/users/$(enc "$E")/user.json"
	t_fails_with EACCES "without allow_other: nobody cannot stat the mount" as_nobody stat "$M"
	fake_reset
	t_fails "without allow_other: nobody cannot grant" \
		as_nobody sh -c 'echo "nobody-grant@example.com" > "$1"' _ "$M/offers/$(enc "$O")/grant"
	t_cost "without allow_other: nobody's attempts sent nothing" "total=0"
	t_ok "the mounting user still can" cat "$M/README"
	msfs_unmount

	# ---------------------------------------------------------------
	# allow_other, default owner and umask: the kernel keeps others out
	# ---------------------------------------------------------------
	msfs_mount cache_ttl=600 allow_other || t_bail "cannot mount with allow_other"
	M=$MNT
	U=$M/users/$(enc "$E")
	O2=$(fake_state | jq -r '.offers[1].id')
	t_like ",$(mount_opts)," ',default_permissions,' \
		"allow_other: the daemon added default_permissions (mount options: $(mount_opts))"
	t_like "$(stat -c '%a %u' "$M" "$M/users")" '^700 '"$ME"$'\n''700 '"$ME"'$' \
		"allow_other: the mount and users/ are 0700, the mounting user's"
	before=$(fake_user "$E")
	fake_reset
	MARK=$(fake_log | jq length)
	# Cold: a read that got through would cost a request, a write one more.
	while IFS='|' read -r what cmd; do
		t_fails_with EACCES "allow_other, umask 0077: nobody: $what" \
			as_nobody sh -c "$cmd" _ "$M" "$(enc "$E")" "$(enc "$O")" "$(enc "$O2")"
	done <<'CMDS'
ls the mount|ls "$1"
cat README|cat "$1/README"
ls users/|ls "$1/users"
stat users/E|stat "$1/users/$2"
cat users/E/user.json|cat "$1/users/$2/user.json"
cat users/E/properties.json|cat "$1/users/$2/properties.json"
cat users/E/properties/Company|cat "$1/users/$2/properties/Company"
cat users/E/offers/O|cat "$1/users/$2/offers/$3"
cat users/E/login-token (mints nothing)|cat "$1/users/$2/login-token"
cat users/E/progress.json|cat "$1/users/$2/progress.json"
ls offers/O/members|ls "$1/offers/$3/members"
cat offers/O/offer.json|cat "$1/offers/$3/offer.json"
cat exams/exam-1/results.csv|cat "$1/exams/exam-1/results.csv"
cat .memberspot/journal|cat "$1/.memberspot/journal"
grep -r users/E|grep -r x "$1/users/$2"
echo a grant line > offers/O/grant|echo "nobody-grant@example.com" > "$1/offers/$3/grant"
echo X > users/E/properties/Company|echo "Nobody GmbH" > "$1/users/$2/properties/Company"
echo inactive > users/E/offers/O|echo inactive > "$1/users/$2/offers/$3"
touch users/E/offers/O2 (a grant)|touch "$1/users/$2/offers/$4"
echo a chapter line > users/E/chapters|echo "c-excel ch-2" > "$1/users/$2/chapters"
truncate -s 0 users/E/properties.json|truncate -s 0 "$1/users/$2/properties.json"
mkdir users/new|mkdir "$1/users/nobody-new@example.com"
rmdir users/E (a deletion)|rmdir "$1/users/$2"
rm -rf users/E (a deletion)|rm -rf "$1/users/$2"
mv users/E/properties.json users/E/x|mv "$1/users/$2/properties.json" "$1/users/$2/x"
echo / > .memberspot/refresh|echo / > "$1/.memberspot/refresh"
CMDS
	t_cost "allow_other, umask 0077: nobody's reads and writes sent no request at all" "total=0"
	t_is "$(fake_changes_since "$MARK")" "[]" "allow_other, umask 0077: no change in the fake's log"
	t_json_eq "$(fake_user "$E")" "$before" "allow_other, umask 0077: the member is as it was"
	t_ok "allow_other: the mounting user still reads user.json" cat "$U/user.json"
	t_json_eq "$T_OUT" "$(fake_user_api "$E")" "allow_other: and it is the member's record"
	msfs_unmount

	# ---------------------------------------------------------------
	# gid=GROUP,umask=0007: a group of admins shares the mount
	# ---------------------------------------------------------------
	msfs_mount cache_ttl=600 allow_other "gid=$SHARE_GROUP" umask=0007 ||
		t_bail "cannot mount with gid=$SHARE_GROUP,umask=0007"
	M=$MNT
	U=$M/users/$(enc "$E")
	GID=$(getent group "$SHARE_GROUP" | cut -d: -f3)
	cat "$M/exams/exam-1/results.json" >/dev/null
	probs=$(find "$M" -mindepth 0 -maxdepth 4 -printf '%y %m %U %G %P\n' 2>&1 | awk -v me="$ME" -v g="$GID" '
		$3 != me || $4 != g { print "not uid " me ", gid " g ": " $0; next }
		$1 == "d" && $2 != "770" { print "dir not 0770: " $0; next }
		$1 == "f" && $2 != "660" && $2 != "440" { print "file not 0660/0440: " $0; next }
		$1 != "d" && $1 != "f" && $1 != "l" { print "odd type: " $0 }')
	t_is "$(head -n 20 <<<"$probs")" "" \
		"gid=$SHARE_GROUP,umask=0007: directories 0770, files 0660 or 0440, owner uid $ME, group $GID"
	t_is "$(stat -c '%a' "$U/user.json" "$U/properties.json" "$M/offers/$(enc "$O")/grant" | tr '\n' ' ')" \
		"440 660 660 " "gid=$SHARE_GROUP,umask=0007: user.json 0440 (read-only), properties.json 0660, grant 0660 (control files read as empty)"
	fake_reset
	t_ok "a member of $SHARE_GROUP can ls users/" as_member ls "$M/users"
	t_ok "a member of $SHARE_GROUP can cat users/E/user.json" as_member cat "$U/user.json"
	t_json_eq "$T_OUT" "$(fake_user_api "$E")" "and it is the member's record"
	PID_COMPANY=$(fake_state | jq -r 'first(.properties[] | select(.name == "Company") | .id)')
	t_ok "a member of $SHARE_GROUP can write users/E/properties/Company" \
		as_member sh -c 'echo "Shared GmbH" > "$1"' _ "$U/properties/Company"
	t_is "$(fake_user "$E" | jq -r --arg p "$PID_COMPANY" '.customProperties[$p]')" "Shared GmbH" \
		"the fake holds Company = 'Shared GmbH'"
	t_ok "a member of $SHARE_GROUP can grant an offer (offers/O/grant)" \
		as_member sh -c 'echo "shared-grant@example.com,Sha,Red" > "$1"' _ "$M/offers/$(enc "$O")/grant"
	t_is "$(fake_user shared-grant@example.com | jq -r --arg o "$O" 'any(.offers[]; .offerId == $o)')" \
		true "the fake granted $O to shared-grant@example.com"
	t_fails_with EACCES "a member of $SHARE_GROUP cannot write a read-only view (user.json is 0440)" \
		as_member sh -c 'echo "{}" > "$1"' _ "$U/user.json"
	fake_reset
	t_fails_with EACCES "gid=$SHARE_GROUP: nobody (not in the group) still cannot cat user.json" \
		as_nobody cat "$U/user.json"
	t_fails_with EACCES "gid=$SHARE_GROUP: nobody still cannot write properties/Company" \
		as_nobody sh -c 'echo "Nobody GmbH" > "$1"' _ "$U/properties/Company"
	t_cost "gid=$SHARE_GROUP: nobody's attempts sent nothing" "total=0"
	msfs_unmount

	# ---------------------------------------------------------------
	# uid=USER: the tree is that user's
	# ---------------------------------------------------------------
	msfs_mount cache_ttl=600 allow_other "uid=$SHARE_USER" || t_bail "cannot mount with uid=$SHARE_USER"
	M=$MNT
	U=$M/users/$(enc "$E")
	t_is "$(stat -c '%U %a' "$M" "$U/user.json" | tr '\n' ' ')" "$SHARE_USER 700 $SHARE_USER 400 " \
		"uid=$SHARE_USER: the tree is $SHARE_USER's (umask 0077)"
	t_ok "uid=$SHARE_USER: $SHARE_USER can cat user.json" as_member cat "$U/user.json"
	fake_reset
	t_fails_with EACCES "uid=$SHARE_USER: nobody cannot" as_nobody cat "$U/user.json"
	t_cost "uid=$SHARE_USER: nobody's attempt sent nothing" "total=0"
	msfs_unmount
	chmod 700 "$T_DIR"
fi

# =====================================================================
# No core dump, no ptrace: the key stays in the daemon's memory
# =====================================================================

# RLIMIT_CORE: started with core dumps allowed, the daemon sets 0 (soft
# and hard).
core_before=$(ulimit -S -c)
if ulimit -S -c unlimited 2>/dev/null || ulimit -S -c "$(ulimit -H -c)" 2>/dev/null; then
	t_ok "control: the daemon is started with core dumps allowed (ulimit -c $(ulimit -S -c))" \
		test "$(ulimit -S -c)" != 0
	msfs_mount || t_bail "cannot mount"
	ulimit -S -c "$core_before"
	t_is "$(prlimit --pid "$MSFS_PID" --core --output SOFT,HARD --noheadings | awk '{ print $1, $2 }')" "0 0" \
		"the daemon allows no core dump (prlimit --pid: RLIMIT_CORE soft 0, hard 0)"
	msfs_unmount
else
	t_skip "the daemon sets RLIMIT_CORE to 0" "the hard core limit here is 0: cannot start it with dumps allowed"
fi

# PR_SET_DUMPABLE 0: the files in /proc/PID of a non-dumpable process
# belong to root, not to the process's user. Seen only for a daemon that
# is not root: it runs as nobody here (with the two capabilities a
# root-owned /dev/fuse and mount(2) need).
if [[ $ME -ne 0 ]] || ! setpriv --help 2>&1 | grep -q -- --ambient-caps; then
	t_skip "the daemon is not dumpable" "needs root and setpriv --ambient-caps"
else
	chmod 755 "$T_DIR"
	_T_MOUNTS=$((_T_MOUNTS + 1))
	MSFS_LOG=$T_DIR/daemon.$_T_MOUNTS.log
	MSFS_VGLOG=$T_DIR/valgrind.$_T_MOUNTS.log
	mkdir -p "$MNT"
	mapfile -t cmd < <(_t_daemon_cmd "$MSFS_VGLOG")
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=+sys_admin,+dac_override --ambient-caps=+sys_admin,+dac_override \
		"${cmd[@]}" -f -o "api_url=$FAKE_URL,api_key_file=$KEYFILE,journal=$T_DIR/nobody.journal" \
		"$MNT" </dev/null >"$MSFS_LOG" 2>&1 &
	MSFS_PID=$!
	for ((i = 0; i < 600; i++)); do
		_t_mounted "$MNT" && break
		kill -0 "$MSFS_PID" 2>/dev/null || break
		sleep 0.1
	done
	if _t_mounted "$MNT"; then
		t_pass "mounted by a daemon running as nobody"
		t_is "$(ps -o uid= -p "$MSFS_PID" | tr -d ' ')" 65534 "control: the daemon runs as uid 65534"
		t_is "$(stat -c %u /proc/"$MSFS_PID"/status)" 0 \
			"the daemon is not dumpable (its /proc/PID/status belongs to root, not to nobody)"
		t_ok "the mount works for the user who mounted it (nobody)" as_nobody cat "$MNT/README"
		t_is "$(as_nobody stat -c '%u %g %a' "$MNT/users")" "65534 65534 700" \
			"by default the tree belongs to the mounting user, 0700"
	else
		t_fail "mounted by a daemon running as nobody" "$(tail -n 5 "$MSFS_LOG")"
	fi
	msfs_unmount
	chmod 700 "$T_DIR"
fi

# =====================================================================
# This test's own output and files
# =====================================================================

t_is "$(grep -rlF -f "$KEYFILE" "$T_DIR" --exclude=api.key --exclude=api.header 2>/dev/null)" "" \
	"the key is in no file this test made (logs, journal, outputs), nor in its output so far"
t_done
