/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helper: create an initialized virtual card state file (mkcard FILE PIN ADMIN-HEX [TRIES]).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcard/vcard.h"

int
main(int argc, char **argv)
{
	struct vcard_init_params params = {0};
	uint8_t admin[VCARD_ADMIN_KEY_LEN];
	size_t i;

	if (argc < 4 || argc > 5 || strlen(argv[3]) != 2 * VCARD_ADMIN_KEY_LEN) {
		fprintf(stderr, "usage: mkcard FILE PIN ADMIN-KEY-HEX [PIN-TRIES]\n");
		return 2;
	}
	for (i = 0; i < VCARD_ADMIN_KEY_LEN; i++) {
		unsigned v;

		if (sscanf(argv[3] + 2 * i, "%2x", &v) != 1)
			return 2;
		admin[i] = (uint8_t)v;
	}
	params.pin = argv[2];
	params.admin_key = admin;
	params.pin_tries = argc == 5 ? (unsigned)atoi(argv[4]) : 0;
	if (vcard_create(argv[1], &params) != MDP_OK) {
		fprintf(stderr, "mkcard: %s\n", mdp_err_last());
		return 1;
	}
	return 0;
}
