#!/usr/bin/env bash
# Security (GitHub issue "Survives the real world", point 6):
#   - TLS certificates are verified by default: a server with a self-signed
#     certificate is refused at start-up with one clear line about the
#     certificate; -o insecure mounts it and warns on stderr;
#   - the API key shows nowhere: ps, the daemon's stderr (even with -d),
#     the journal, .memberspot/errors and status, /proc/PID/environ when it
#     came from MEMBERSPOT_API_KEY, /proc/PID/cmdline, this test's output;
#   - files are 0600/0400, directories 0700, owned by the mounting
#     user; without allow_other another user cannot read the mount, with
#     allow_other it can.
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
# Other users: not without allow_other; yes with it
# =====================================================================

if [[ $ME -ne 0 ]] || ! command -v setpriv >/dev/null; then
	t_skip "another user cannot read the mount" "needs root and setpriv"
	msfs_unmount
else
	# The way to the mountpoint must be open to "nobody", so that a
	# refusal comes from the mount, not from the 0700 temporary directory.
	# (The key file in it stays 0600.)
	chmod 755 "$T_DIR"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
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

	msfs_mount cache_ttl=600 allow_other || t_bail "cannot mount with allow_other"
	M=$MNT
	t_ok "with allow_other: nobody can ls the mount" as_nobody ls "$M"
	t_ok "with allow_other: nobody can cat README" as_nobody cat "$M/README"
	t_ok "with allow_other: nobody can read a member's user.json" \
		as_nobody cat "$M/users/$(enc "$E")/user.json"
	# user.json passes the API's record through: compared with it as the
	# API answers it in the fake's dialect (MSFS_DIALECT)
	t_json_eq "$T_OUT" "$(fake_user_api "$E")" "with allow_other: and it is the member's record"
	chmod 700 "$T_DIR"
	msfs_unmount
fi

# =====================================================================
# This test's own output and files
# =====================================================================

t_is "$(grep -rlF -f "$KEYFILE" "$T_DIR" --exclude=api.key --exclude=api.header 2>/dev/null)" "" \
	"the key is in no file this test made (logs, journal, outputs), nor in its output so far"
t_done
