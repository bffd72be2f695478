# SPDX-License-Identifier: MIT
# tls.sh - a throw-away certificate authority and server certificates for tests (openssl).
#
# Source it, then:
#   nl_tls_ca DIR                 make a test CA in DIR (DIR/ca.pem, DIR/ca.key)
#   nl_tls_server DIR NAME SAN    a server key and certificate signed by DIR's CA:
#                                 DIR/NAME.pem, DIR/NAME.key (0600); SAN as openssl
#                                 writes it, e.g. "IP:10.213.0.1,DNS:localhost"
#
# Keys are EC P-256 (fast to make on a loaded machine); certificates last
# two days, so a test never meets an expired one and a leaked one soon dies.
# Nothing here touches the system's trust store: clients are given DIR/ca.pem.
# Needs: openssl.

nl_tls_ca() {
    mkdir -p "$1"
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$1/ca.key" -out "$1/ca.pem" -days 2 -subj "/CN=nordlys test CA $$" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$1/openssl.log" ||
        { cat "$1/openssl.log" >&2; return 1; }
    chmod 600 "$1/ca.key"
}

nl_tls_server() {
    _d=$1 _n=$2 _san=$3
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$_d/$_n.key" -out "$_d/$_n.csr" -subj "/CN=$_n" 2>"$_d/openssl.log" ||
        { cat "$_d/openssl.log" >&2; return 1; }
    chmod 600 "$_d/$_n.key"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
        "$_san" >"$_d/$_n.ext"
    openssl x509 -req -in "$_d/$_n.csr" -CA "$_d/ca.pem" -CAkey "$_d/ca.key" \
        -CAcreateserial -days 2 -extfile "$_d/$_n.ext" -out "$_d/$_n.pem" 2>"$_d/openssl.log" ||
        { cat "$_d/openssl.log" >&2; return 1; }
}
