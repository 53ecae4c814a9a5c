/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small external card module (plugin) for the "scripted" test card: files over READ/UPDATE
 * BINARY. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mdp11/card-module.h"

/*
 * The scripted card holds numbered files: 1 = cardid, 2 = cardcf,
 * 3 = mscp/cmapfile. It answers SELECT of its AID F0 6D 64 70 31 31, READ
 * BINARY (00 B0 00 <n>) with the whole file and UPDATE BINARY (00 D6 00 <n>)
 * by replacing it. Built with PLUGIN_INTERFACE set to another value, it is
 * the plugin of a future interface that mdp11 must refuse.
 */
#ifndef PLUGIN_INTERFACE
#define PLUGIN_INTERFACE MD_CARD_MODULE_INTERFACE_VERSION
#endif

__attribute__((visibility("default"))) const unsigned md_card_module_interface_version =
	PLUGIN_INTERFACE;

static const uint8_t aid[] = {0xF0, 0x6D, 0x64, 0x70, 0x31, 0x31};

static int
file_no(const char *dir, const char *file)
{
	if (!dir && strcasecmp(file, "cardid") == 0)
		return 1;
	if (!dir && strcasecmp(file, "cardcf") == 0)
		return 2;
	if (dir && strcasecmp(dir, "mscp") == 0 && strcasecmp(file, "cmapfile") == 0)
		return 3;
	return 0;
}

static enum md_rv
sc_delete_context(struct md_card *card)
{
	card->module = NULL;
	return MD_OK;
}

static enum md_rv
sc_query_capabilities(struct md_card *card, struct md_capabilities *caps)
{
	caps->certificate_compression = 0;
	caps->key_gen = 0;
	return MD_OK;
}

static enum md_rv
sc_read_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
	     uint8_t **data, size_t *len)
{
	int n = file_no(dir, file);
	uint16_t sw = 0;
	enum md_rv rv;

	if (!n)
		return dir && strcasecmp(dir, "mscp") != 0 ? MD_E_DIR_NOT_FOUND
							   : MD_E_FILE_NOT_FOUND;
	rv = card->host->exchange(card, 0x00, 0xB0, 0x00, (uint8_t)n, NULL, 0, 256, false, data,
				  len, &sw);
	if (rv != MD_OK)
		return rv;
	if (sw != 0x9000) {
		free(*data);
		*data = NULL;
		return MD_E_FILE_NOT_FOUND;
	}
	if (!*data) {
		*data = malloc(1);
		*len = 0;
	}
	return *data ? MD_OK : MD_E_NO_MEMORY;
}

static enum md_rv
sc_write_file(struct md_card *card, const char *dir, const char *file, uint32_t flags,
	      const uint8_t *data, size_t len)
{
	int n = file_no(dir, file);
	uint8_t *resp = NULL;
	size_t rlen = 0;
	uint16_t sw = 0;
	enum md_rv rv;

	if (!n)
		return MD_E_FILE_NOT_FOUND;
	if (len > 255)
		return MD_E_WRITE_TOO_MANY;
	rv = card->host->exchange(card, 0x00, 0xD6, 0x00, (uint8_t)n, data, len, -1, false, &resp,
				  &rlen, &sw);
	free(resp);
	if (rv != MD_OK)
		return rv;
	return sw == 0x9000 ? MD_OK : MD_E_UNEXPECTED;
}

static enum md_rv
sc_enum_files(struct md_card *card, const char *dir, char **names, size_t *len, uint32_t flags)
{
	static const char root[] = "cardid\0cardcf\0";
	static const char mscp[] = "cmapfile\0";
	const char *src = dir ? mscp : root;
	size_t n = dir ? sizeof(mscp) : sizeof(root);

	if (dir && strcasecmp(dir, "mscp") != 0)
		return MD_E_DIR_NOT_FOUND;
	*names = malloc(n);
	if (!*names)
		return MD_E_NO_MEMORY;
	memcpy(*names, src, n);
	*len = n;
	return MD_OK;
}

static enum md_rv
sc_query_key_sizes(struct md_card *card, uint32_t key_spec, uint32_t flags, struct md_key_sizes *ks)
{
	return MD_E_UNSUPPORTED_FEATURE;
}

static const struct md_card_ops sc_ops = {
	.delete_context = sc_delete_context,
	.query_capabilities = sc_query_capabilities,
	.read_file = sc_read_file,
	.write_file = sc_write_file,
	.enum_files = sc_enum_files,
	.query_key_sizes = sc_query_key_sizes,
};

__attribute__((visibility("default"))) enum md_rv
md_card_acquire_context_v1(struct md_card *card, unsigned flags)
{
	uint8_t *resp = NULL;
	size_t rlen = 0;
	uint16_t sw = 0;
	enum md_rv rv;

	if (flags)
		return MD_E_INVALID_PARAMETER;
	/* this module is a v6 module: anything below is a mismatch */
	if (card->version < MD_CARD_DATA_VERSION_SIX)
		return MD_ERROR_REVISION_MISMATCH;
	if (card->version > MD_CARD_DATA_VERSION_SIX)
		card->version = MD_CARD_DATA_VERSION_SIX;
	rv = card->host->exchange(card, 0x00, 0xA4, 0x04, 0x0C, aid, sizeof(aid), -1, false, &resp,
				  &rlen, &sw);
	free(resp);
	if (rv != MD_OK)
		return rv;
	if (sw != 0x9000)
		return MD_E_UNKNOWN_CARD;
	card->ops = &sc_ops;
	return MD_OK;
}
