/* libFuzzer harness for the QR decoder: arbitrary bytes (a PNG, a JPEG or
 * anything else) go to lks_qr_decode_image, which must answer with a code and
 * a consistent *out, and never crash, leak, hang or print. Seeds: the small
 * images in tests/core/data/qr/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linksync/error.h"
#include "linksync/qr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL;
	int rc = lks_qr_decode_image(&out, data, size);

	/* The contract: a payload exactly on success, a message on failure. */
	if (rc == 0 && out == NULL)
		abort();
	if (rc != 0 && (out != NULL || lks_error_message()[0] == '\0'))
		abort();
	if (rc != 0 && rc != LKS_EUNSUPPORTED && rc != LKS_ENOQR && rc != LKS_ETOOBIG &&
	    rc != LKS_ENOMEM)
		abort();
	if (out != NULL)
		(void)strlen(out);
	free(out);
	return 0;
}
