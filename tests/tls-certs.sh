#!/bin/sh
# tls-certs.sh DIR: make the test certificates in DIR with the openssl
# command, so that no key is ever committed.  P-256 keys, valid two days:
#   ca.pem ca.key                  the test CA
#   server.pem server.key          CN localhost, SAN IP:127.0.0.1, DNS:localhost
#   client.pem client.key          CN msgrouter-test-client, from the test CA
#   other-ca.pem other-ca.key      a CA nobody trusts
#   other-client.pem other-client.key   a client certificate from other-ca
#   wrongname.pem wrongname.key    from the test CA, but for elsewhere.invalid
set -eu
dir=$1
cd "$dir"

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$1.key" 2>/dev/null
}

# cert NAME CN CA [SAN]: a certificate for NAME.key signed by CA.
cert() {
	key "$1"
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
	if [ -n "${4-}" ]; then
		printf 'subjectAltName=%s\n' "$4" >"$1.ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' >"$1.ext"
	fi
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
	    -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

for ca in ca other-ca; do
	key "$ca"
	openssl req -x509 -new -key "$ca.key" -subj "/CN=msgrouter-test-$ca" \
	    -days 2 -out "$ca.pem"
done
cert server localhost ca 'IP:127.0.0.1,DNS:localhost'
cert wrongname elsewhere.invalid ca 'DNS:elsewhere.invalid'
cert client msgrouter-test-client ca
cert other-client msgrouter-test-other-client other-ca
