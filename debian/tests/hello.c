/*
 * hello: two clients of the router at argv[1]; the first sends "hello" to
 * the second, which must receive exactly that.  Built by client-dev
 * against the installed libmsgrouter-client-dev.
 */
#include <stdio.h>
#include <string.h>

#include <msgrouter/client.h>

static int
fail(const char *what, int error)
{
	fprintf(stderr, "hello: %s: %s\n", what, mr_strerror(error));
	return 1;
}

int
main(int argc, char *argv[])
{
	struct mr_client	*a, *b;
	const char		*msg;
	size_t			 len;
	int			 error;

	if (argc != 2) {
		fprintf(stderr, "usage: hello HOST:PORT\n");
		return 2;
	}
	if ((error = mr_client_connect(argv[1], 5000, &a)) != MR_OK)
		return fail("connect a", error);
	if ((error = mr_client_connect(argv[1], 5000, &b)) != MR_OK)
		return fail("connect b", error);
	error = mr_client_send(a, mr_client_id(b), "hello", 5, 5000);
	if (error != MR_OK)
		return fail("send", error);
	if ((error = mr_client_recv(b, 5000, &msg, &len)) != MR_OK)
		return fail("recv", error);
	if (len != 5 || memcmp(msg, "hello", 5) != 0) {
		fprintf(stderr, "hello: received %zu bytes \"%s\"\n", len, msg);
		return 1;
	}
	printf("hello: %08x -> %08x: %s\n", (unsigned)mr_client_id(a),
	    (unsigned)mr_client_id(b), msg);
	mr_client_close(a);
	mr_client_close(b);
	return 0;
}
