#!/bin/sh
# Make the TLS tests' certificates in DIR with the openssl command (nothing
# of this is committed): two CAs, two server certificates for 127.0.0.1 and
# localhost (the second for rotation), a client certificate from each CA,
# an expired one, and one for another name.  P-256 keys: quick to make.
set -e
dir=$1
test -n "$dir" || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$dir"
cd "$dir"

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$1.key" 2>/dev/null
}

# ca NAME CN
ca() {
	key "$1"
	openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 \
	    -subj "/CN=$2" -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# cert NAME CN CA DAYS SERIAL EXT
cert() {
	key "$1"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
	printf '%s\n' "$6" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
	    -set_serial "$5" -days "$4" -extfile "$1.ext" -out "$1.pem" \
	    2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

SERVER_EXT='subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth'
CLIENT_EXT='extendedKeyUsage=clientAuth'

ca ca "msgrouter test CA"
ca ca2 "msgrouter other CA"
cert server "msgrouter test server" ca 30 4097 "$SERVER_EXT"
cert server2 "msgrouter test server 2" ca 30 4098 "$SERVER_EXT"
cert client "msgrouter test client" ca 30 8193 "$CLIENT_EXT"
cert other "msgrouter other client" ca2 30 8194 "$CLIENT_EXT"
# Valid until yesterday: -days -1 puts notAfter a day before notBefore.
cert expired "msgrouter expired client" ca -1 8195 "$CLIENT_EXT"
# From the test CA, but for another name: the clients' name check.
cert wrongname "msgrouter wrong name" ca 30 4099 'subjectAltName=DNS:elsewhere.invalid
extendedKeyUsage=serverAuth'
