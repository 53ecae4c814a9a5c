/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: blob_parse over every input format, and blob_write of whatever parses. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "blob/blob.h"
#include "common/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The formats a parsed key is written back to (each must either succeed or fail cleanly). */
static const enum blob_format out_formats[] = {
	BLOB_FMT_CAPI_PUBLIC,
	BLOB_FMT_CAPI_PRIVATE,
	BLOB_FMT_CNG_RSA_PUBLIC,
	BLOB_FMT_CNG_RSA_PRIVATE,
	BLOB_FMT_CNG_RSA_FULL,
	BLOB_FMT_CNG_ECC_PUBLIC,
	BLOB_FMT_CNG_ECC_PRIVATE,
	BLOB_FMT_PKCS8,
	BLOB_FMT_SPKI,
	BLOB_FMT_PEM,
};

static void
write_back(const struct mdp_key *k)
{
	struct mdp_key *again = NULL;
	uint8_t *out = NULL;
	size_t len = 0, i;

	for (i = 0; i < sizeof(out_formats) / sizeof(out_formats[0]); i++) {
		if (blob_write(k, out_formats[i], MDP_AT_NONE, &out, &len) != MDP_OK)
			continue;
		/* What we write, we must read back (validation included). */
		if (blob_parse(out, len, out_formats[i], 0, &again) != MDP_OK &&
		    blob_parse(out, len, out_formats[i], BLOB_NO_VALIDATION, &again) != MDP_OK)
			abort();
		mdp_key_free(again);
		again = NULL;
		mdp_secure_free(out, len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdp_key *k = NULL;
	int f;

	/* Detection, then each format forced, with and without validation. */
	blob_detect(data, size);
	for (f = BLOB_FMT_UNKNOWN; f < BLOB_FMT__COUNT; f++) {
		if (blob_parse(data, size, (enum blob_format)f, f == 0 ? 0 : BLOB_NO_VALIDATION,
			       &k) == MDP_OK) {
			if (f == BLOB_FMT_UNKNOWN)
				write_back(k);
			mdp_key_free(k);
			k = NULL;
		}
	}
	ERR_clear_error();
	return 0;
}
