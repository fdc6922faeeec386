#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Metrics and health, wgud (A, `--conf --kill-switch on --metrics`) against a
# wgud server (B):
#  - `wgud ctl IFACE metrics` and GET /metrics on --metrics parse with
#    prometheus_client's own text parser (Debian's python3-prometheus-client);
#    the families the common exporters use are there with interface and
#    public_key labels; byte counters move with traffic; the kill switch
#    reads enforced 1 while the table is in force, 0 once it is gone (and
#    health says so);
#  - HTTP: any other path 404, another method 405 with Allow, garbage 400,
#    an over-long request 431, a client that says nothing 408;
#  - health exits 0 on a live tunnel (test_health_expiry.sh has the peer
#    gone, in real time).
# `show` says what the kill switch enforces. wireguard-go has none of this.

source "$(dirname "$0")/lib.sh"
t_init 120
gw_init

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wgud's own control commands"
	skip "test_metrics_health"
	t_finish
fi
metrics_pair 0.0.0.0

scrape() { prom_scrape "$NA" "$IA" "$MPORT" "$1"; }
metric() { prom_metric "$@"; }
has_metric() { prom_metric "$@" >/dev/null; }

log "---- a live tunnel"
assert_ping "ping through the tunnel" "$NA" "$TUN4.2"
for how in ctl http; do
	M=$(scrape "$how") || M=""
	assert "[$how] the metrics parse with prometheus_client" test -n "$M"
	assert "[$how] wireguard_sent_bytes_total of the peer" has_metric "$M" wireguard_sent_bytes_total "$L"
	assert "[$how] wireguard_received_bytes_total of the peer" has_metric "$M" wireguard_received_bytes_total "$L"
	assert_gt "[$how] wireguard_latest_handshake_seconds is a recent time" \
		"$(metric "$M" wireguard_latest_handshake_seconds "$L")" $(($(date +%s) - 60))
	assert_eq "[$how] wgud_tunnel_up" "$(metric "$M" wgud_tunnel_up "$L")" 1
	assert_eq "[$how] wgud_kill_switch_enforced" "$(metric "$M" wgud_kill_switch_enforced "interface=$IA")" 1
	assert_eq "[$how] wgud_healthy" "$(metric "$M" wgud_healthy "interface=$IA")" 1
	assert_gt "[$how] wgud_handshakes_total{result=completed}" \
		"$(metric "$M" wgud_handshakes_total "interface=$IA,result=completed")" 0
	assert "[$how] wgud_drops_total by reason" has_metric "$M" wgud_drops_total "interface=$IA,reason=no_route"
done
SENT0=$(metric "$M" wireguard_sent_bytes_total "$L")
RECV0=$(metric "$M" wireguard_received_bytes_total "$L")
nsx "$NA" ping -c 20 -i 0.01 -s 1000 -W 1 "$TUN4.2" >/dev/null
M=$(scrape http)
assert_gt "the sent bytes moved with 20 KB of pings" "$(metric "$M" wireguard_sent_bytes_total "$L")" $((SENT0 + 20000))
assert_gt "the received bytes moved with the replies" "$(metric "$M" wireguard_received_bytes_total "$L")" $((RECV0 + 20000))
NR0=$(metric "$M" wgud_drops_total "interface=$IA,reason=no_route")
nsx "$NA" ping -c 3 -i 0.05 -W 1 "$TUN4.9" >/dev/null 2>&1 || true
M=$(scrape ctl)
assert_eq "3 pings nobody's allowed ips cover count as drops{reason=no_route}" \
	"$(metric "$M" wgud_drops_total "interface=$IA,reason=no_route")" $((NR0 + 3))

wctl_rc rc "$NA" "$IA" health
assert_eq "health exits 0 on a live tunnel" "$rc" 0
assert "health says healthy and how many peers" grep -q "^healthy: 1 of 1 peers with an endpoint had a handshake within 180 s; the kill switch is in force$" <<<"$CTL_OUT"
SHOW=$(wctl "$NA" "$IA" show)
assert "show: the kill switch enforces, tunnel up" grep -q "^  kill switch: on, enforced: only the tunnel and wgud's UDP to its peers leave$" <<<"$SHOW"
assert_json "show --json: kill_switch_enforced" "$NA" "$IA" "j['kill_switch_enforced'] is True"
JSON=$(wctl "$NA" "$IA" show --json)
assert "show --json is what the README's schema says, field by field, both ways" "$T_PY" -c '
import json, re, sys
readme = open(sys.argv[1]).read()
table = readme.split("<!-- show-json-schema -->")[1].split("<!-- /show-json-schema -->")[0]
doc = {}
for row in table.strip().splitlines()[2:]:
    cells = [c.strip() for c in row.strip("|").split("|")]
    for name in re.findall(r"`([^`]+)`", cells[0]):
        doc[name] = cells[1]
kinds = {"string": str, "integer": int, "boolean": bool, "object": dict}
def ok(v, t):
    if t.endswith(" or null") and v is None:
        return True
    t = t.replace(" or null", "")
    if t == "array of string":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    return isinstance(v, kinds[t]) and not (t == "integer" and isinstance(v, bool))
seen = set()
def walk(prefix, obj):
    for k, v in obj.items():
        path = prefix + k
        if isinstance(v, dict) and not doc.get(path, "").startswith("object"):
            walk(path + ".", v)
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for e in v:
                walk(path + "[].", e)
        else:
            assert path in doc, "not in the README: " + path
            assert ok(v, doc[path]), (path, v, doc[path])
            seen.add(path)
walk("", json.loads(sys.argv[2]))
missing = set(doc) - seen
assert not missing, "in the README, not in show --json: %s" % sorted(missing)
' "$(dirname "$0")/../../README.md" "$JSON"

HELP=$(wctl "$NA" "$IA" help)
for word in kill-switch allow-lan allow forward-from masquerade port-forward open dns dns-forward show health metrics help; do
	assert "help lists '$word'" grep -q "^$word\b" <<<"$HELP"
done

log "---- HTTP: only GET /metrics"
http_status()
{
	nsx "$NA" "$PROM_PY" - "$MPORT" "$1" <<-'EOF'
		import socket, sys
		s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
		if sys.argv[2]:
		    s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
		data = b""
		while True:
		    try:
		        chunk = s.recv(4096)
		    except ConnectionResetError:
		        break
		    if not chunk:
		        break
		    data += chunk
		line = data.split(b"\r\n")[0].decode()
		print(line.split(" ")[1] if line else "none", "allow=" + ("yes" if b"\r\nAllow: GET\r\n" in data else "no"))
	EOF
}
assert_eq "another path: 404" "$(http_status 'GET /other HTTP/1.1\r\n\r\n')" "404 allow=no"
assert_eq "another method: 405 with Allow: GET" "$(http_status 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n')" "405 allow=yes"
assert_eq "garbage: 400" "$(http_status 'hello\r\n\r\n')" "400 allow=no"
assert_eq "a NUL byte: 400" "$(http_status 'GET /metrics\x00 HTTP/1.1\r\n\r\n')" "400 allow=no"
assert_eq "HTTP/2.0: 505" "$(http_status 'GET /metrics HTTP/2.0\r\n\r\n')" "505 allow=no"
LONG=$(printf 'X-Pad: %03000d\\r\\n' 0)
assert_eq "3 KB of headers: 431" "$(http_status "GET /metrics HTTP/1.1\\r\\n$LONG\\r\\n")" "431 allow=no"
assert_eq "a client that says nothing: 408 after the idle time" "$(http_status '')" "408 allow=no"
scrape_ok() { scrape http >/dev/null; }
assert "wgud still serves after all that" scrape_ok

log "---- a scraper elsewhere: the kill switch lets its answers out only once allowed"
from_b()
{
	nsx "$NB" "$PROM_PY" -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    print(s.recv(12).decode())
except OSError as e:
    print("no answer")
' "$V4_1" "$MPORT"
}
assert_eq "from B's namespace, with the kill switch on: no answer" "$(from_b)" "no answer"
assert_ctl "allow the scraper" "$NA" "$IA" allow add tcp "$V4_2"
assert_eq "from B's namespace, allowed: 200" "$(from_b)" "HTTP/1.1 200"
assert_ctl "and take it back" "$NA" "$IA" allow del tcp "$V4_2"

log "---- the table gone from the kernel"
nsx "$NA" nft delete table inet "wgud_$IA"
wctl_rc rc "$NA" "$IA" health
assert_eq "health exits 1 with the table gone" "$rc" 1
assert "health names the missing table" grep -q "unhealthy: the kill switch is on but table inet wgud_$IA is gone from the kernel" <<<"$CTL_ERR"
M=$(scrape ctl)
assert_eq "wgud_kill_switch_enforced 0 without its table" "$(metric "$M" wgud_kill_switch_enforced "interface=$IA")" 0
SHOW=$(wctl "$NA" "$IA" show)
assert "show: NOT ENFORCED, and why" grep -q "^  kill switch: on, NOT ENFORCED: the kill switch is on but table inet wgud_$IA is gone" <<<"$SHOW"
assert_ctl "kill-switch on puts it back" "$NA" "$IA" kill-switch on
assert "the table is back" nft_table_exists "$NA" "$IA"
wctl_rc rc "$NA" "$IA" health
assert_eq "health exits 0 again" "$rc" 0

t_finish
