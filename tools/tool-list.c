/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool list: readers, virtual cards, card facts and container maps, as text or JSON. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "blob/blob.h"
#include "common/secmem.h"
#include "tools/tool-card.h"

#define LIST_JSON_VERSION 2

static void
list_help(FILE *f)
{
	fprintf(f,
		"Usage: mdp11-tool list [--json] [--reader NAME | --card N | --serial S |\n"
		"                        --token URI] [--verbose]\n"
		"\n"
		"Show the PC/SC readers and virtual cards (from [vcard \"label\"] sections of\n"
		"mdp11.conf and MDP11_VCARD=PATH[:PATH]), and for each card: card name, label,\n"
		"serial, cardid, PIN tries left (and the PUK's on PIV cards), free space, cache\n"
		"state and the container map (index, the key's slot on PIV cards, name, key spec,\n"
		"size, default flag, certificate subject and expiry).\n"
		"The card numbers it prints are what --card N takes.\n"
		"\n"
		"  --json            machine-readable output (schema in mdp11-tool(1))\n"
		"  --reader NAME     only the card in this reader or virtual card\n"
		"  --card N          only card N\n"
		"  --serial S        only the card with this serial (or cardid)\n"
		"  --token URI       only the card matching this PKCS#11 URI (pkcs11:token=...)\n"
		"  --verbose         APDU trace on stderr (secrets blanked)\n"
		"  -h, --help        this text\n");
}

/* Facts of one certificate for the listing. */
struct cert_facts {
	char subject[256];
	char issuer[256];
	char serial[80];
	char not_before[32];
	char not_after[32];
	char sha256[65];
	bool ok;
};

static void
name_string(const X509_NAME *n, char *buf, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long len;

	buf[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(b, &p);
		if (len > 0)
			snprintf(buf, cap, "%.*s", (int)len, p);
	}
	BIO_free(b);
}

static void
cert_facts(const uint8_t *der, size_t len, struct cert_facts *cf)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	const ASN1_INTEGER *sn;
	unsigned char md[32];
	unsigned int mdlen = 0;
	int i;

	memset(cf, 0, sizeof(*cf));
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL)
		return;
	name_string(X509_get_subject_name(x), cf->subject, sizeof(cf->subject));
	name_string(X509_get_issuer_name(x), cf->issuer, sizeof(cf->issuer));
	tool_asn1_time(X509_get0_notBefore(x), cf->not_before, sizeof(cf->not_before));
	tool_asn1_time(X509_get0_notAfter(x), cf->not_after, sizeof(cf->not_after));
	sn = X509_get0_serialNumber(x);
	for (i = 0; sn && i < sn->length && i < 39; i++)
		snprintf(cf->serial + 2 * i, 3, "%02x", sn->data[i]);
	if (EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32) {
		for (i = 0; i < 32; i++)
			snprintf(cf->sha256 + 2 * i, 3, "%02x", md[i]);
	}
	cf->ok = true;
	X509_free(x);
}

static const char *
origin_name(enum ksp_origin o)
{
	switch (o) {
	case KSP_ORIGIN_GENERATED:
		return "generated";
	case KSP_ORIGIN_IMPORTED:
		return "imported";
	default:
		return "unknown";
	}
}

static const char *
state_name(enum tool_card_state s)
{
	switch (s) {
	case TOOL_CARD_ABSENT:
		return "absent";
	case TOOL_CARD_BLANK:
		return "blank";
	case TOOL_CARD_UNKNOWN:
		return "unknown";
	case TOOL_CARD_READY:
		return "ready";
	default:
		return "error";
	}
}

static const char *
cache_mode_name(enum tool_cache_mode m)
{
	return m == TOOL_CACHE_NONE ? "none" : m == TOOL_CACHE_PERSISTENT ? "persistent" : "memory";
}

static void
hex_string(const uint8_t *p, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * len] = '\0';
}

/* cardcf counters (pins, containers, files); false when it cannot be read. */
static bool
read_cardcf(struct tool_card *card, unsigned cf[3])
{
	uint8_t *data = NULL;
	size_t len = 0;
	bool ok = false;

	if (md_read_file(ksp_card_md(card->kc), NULL, "cardcf", 0, &data, &len) != MD_OK)
		return false;
	if (len >= 6) {
		cf[0] = data[1];
		cf[1] = (unsigned)(data[2] | data[3] << 8);
		cf[2] = (unsigned)(data[4] | data[5] << 8);
		ok = true;
	}
	free(data);
	return ok;
}

/* The card's reference of a container's key (a PIV slot), when its module tells it. */
static bool
key_reference(struct tool_card *card, uint8_t index, uint8_t *ref)
{
	size_t len = 0;

	return md_get_container_property(ksp_card_md(card->kc), index, MD_CCP_MDP11_KEY_REFERENCE,
					 ref, 1, &len, 0) == MD_OK &&
	       len == 1;
}

/* The PUK's retry counter (PIN id 3 on PIV), when the card has one and tells it. */
static bool
puk_tries(struct tool_card *card, bool *has_puk, struct md_pin_tries *pt)
{
	struct md_card *md = ksp_card_md(card->kc);
	uint32_t pins = 0;
	size_t len = 0;

	*has_puk =
		md_get_property(md, MD_CP_CARD_LIST_PINS, &pins, sizeof(pins), &len, 0) == MD_OK &&
		(pins & MD_PIN_SET(3)) && strcmp(card->info.card_name, "PIV") == 0;
	if (!*has_puk)
		return false;
	memset(pt, 0, sizeof(*pt));
	pt->version = MD_PIN_TRIES_VERSION;
	return md_get_property(md, MD_CP_MDP11_PIN_TRIES, pt, sizeof(*pt), &len, 3) == MD_OK &&
	       len == sizeof(*pt);
}

static void
json_uint_or_null(FILE *f, uint32_t v)
{
	if (v == UINT32_MAX)
		fputs("null", f);
	else
		fprintf(f, "%u", v);
}

static void
json_key(FILE *f, const struct ksp_key *k, int slot)
{
	struct cert_facts cf;
	char *id = NULL;

	fprintf(f, "{\"slot\":\"%s\",\"key_spec\":",
		slot == KSP_SLOT_EXCHANGE ? "exchange" : "signature");
	tool_json_string(f, mdp_key_spec_name(k->spec));
	fprintf(f, ",\"algorithm\":\"%s\",\"bits\":%u,\"curve\":",
		MDP_KEY_SPEC_IS_RSA(k->spec) ? "rsa" : "ec", k->bits);
	if (k->pub && mdp_key_type(k->pub) == EVP_PKEY_EC)
		tool_json_string(f, mdp_key_curve_name(k->pub));
	else
		fputs("null", f);
	fputs(",\"origin\":", f);
	tool_json_string(f, origin_name(k->origin));
	fputs(",\"label\":", f);
	tool_json_string(f, k->label);
	fputs(",\"id\":", f);
	id = malloc(2 * k->id_len + 1);
	if (id) {
		hex_string(k->id, k->id_len, id);
		tool_json_string(f, id);
		free(id);
	} else {
		fputs("null", f);
	}
	fputs(",\"certificate\":", f);
	if (k->cert == NULL) {
		fputs("null", f);
	} else {
		cert_facts(k->cert, k->cert_len, &cf);
		if (!cf.ok) {
			fputs("{\"subject\":null,\"issuer\":null,\"serial\":null,\"not_before\":"
			      "null,"
			      "\"not_after\":null,\"sha256\":null}",
			      f);
		} else {
			fputs("{\"subject\":", f);
			tool_json_string(f, cf.subject);
			fputs(",\"issuer\":", f);
			tool_json_string(f, cf.issuer);
			fputs(",\"serial\":", f);
			tool_json_string(f, cf.serial);
			fputs(",\"not_before\":", f);
			tool_json_string(f, cf.not_before);
			fputs(",\"not_after\":", f);
			tool_json_string(f, cf.not_after);
			fputs(",\"sha256\":", f);
			tool_json_string(f, cf.sha256);
			fputc('}', f);
		}
	}
	fputc('}', f);
}

static void
json_card(FILE *f, struct tool_ctx *ctx, struct tool_card *card)
{
	const struct ksp_container *list = NULL;
	struct ksp_pin_info pi;
	size_t n = 0, i;
	unsigned cf[3];
	char hex[33];
	int s;
	bool first;

	fprintf(f, "{\"index\":%zu,\"kind\":\"%s\",\"reader\":", card->slot_index,
		card->slot->is_vcard ? "vcard" : "pcsc");
	tool_json_string(f, card->slot->name);
	fputs(",\"path\":", f);
	tool_json_string(f, card->slot->path);
	fprintf(f, ",\"state\":\"%s\",\"error\":", state_name(card->state));
	tool_json_string(f, card->state == TOOL_CARD_READY ? NULL : card->error);
	if (card->state != TOOL_CARD_READY) {
		fputc('}', f);
		return;
	}
	fputs(",\"card_name\":", f);
	tool_json_string(f, card->info.card_name);
	fputs(",\"label\":", f);
	tool_json_string(f, card->label);
	fputs(",\"serial\":", f);
	tool_json_string(f, card->info.serial);
	hex_string(card->info.cardid, 16, hex);
	fputs(",\"cardid\":", f);
	tool_json_string(f, hex);
	fprintf(f, ",\"read_only\":%s,\"keygen\":%s", card->info.read_only ? "true" : "false",
		card->info.keygen ? "true" : "false");
	if (tool_pin_facts(card, &pi) == KSP_OK) {
		fputs(",\"pin\":{\"tries_left\":", f);
		if (pi.tries_left < 0)
			fputs("null", f);
		else
			fprintf(f, "%d", pi.tries_left);
		fputs(",\"tries_max\":", f);
		if (pi.tries_max < 0)
			fputs("null", f);
		else
			fprintf(f, "%d", pi.tries_max);
		fprintf(f, ",\"blocked\":%s,\"external\":%s}", pi.blocked ? "true" : "false",
			pi.external ? "true" : "false");
	} else {
		fputs(",\"pin\":null", f);
	}
	{
		struct md_pin_tries pt;
		bool has_puk = false;
		bool known = puk_tries(card, &has_puk, &pt);

		if (!has_puk)
			fputs(",\"puk\":null", f);
		else if (!known)
			fputs(",\"puk\":{\"tries_left\":null,\"tries_max\":null}", f);
		else if (pt.max == MD_VALUE_UNKNOWN)
			fprintf(f, ",\"puk\":{\"tries_left\":%u,\"tries_max\":null}", pt.left);
		else
			fprintf(f, ",\"puk\":{\"tries_left\":%u,\"tries_max\":%u}", pt.left,
				pt.max);
	}
	fputs(",\"free_bytes\":", f);
	json_uint_or_null(f, card->info.free_bytes);
	fputs(",\"free_containers\":", f);
	json_uint_or_null(f, card->info.free_containers);
	fprintf(f, ",\"max_containers\":%u", card->info.max_containers);
	fprintf(f, ",\"cache\":{\"mode\":\"%s\",\"dir\":", cache_mode_name(ctx->cache_mode));
	tool_json_string(f, ctx->cache_mode == TOOL_CACHE_PERSISTENT ? ctx->cache_dir : NULL);
	fputs(",\"cardcf\":", f);
	if (read_cardcf(card, cf))
		fprintf(f, "{\"pins\":%u,\"containers\":%u,\"files\":%u}", cf[0], cf[1], cf[2]);
	else
		fputs("null", f);
	fputs("},\"containers\":[", f);
	if (ksp_card_containers(card->kc, &list, &n) != KSP_OK)
		n = 0;
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		fprintf(f, "{\"index\":%u,\"name\":", list[i].index);
		tool_json_string(f, list[i].name);
		{
			uint8_t ref;

			if (key_reference(card, list[i].index, &ref))
				fprintf(f, ",\"key_reference\":\"%02x\"", ref);
			else
				fputs(",\"key_reference\":null", f);
		}
		fprintf(f, ",\"default\":%s,\"keys\":[", list[i].is_default ? "true" : "false");
		first = true;
		for (s = 0; s < KSP_SLOTS; s++) {
			if (list[i].slot[s].spec == MDP_AT_NONE)
				continue;
			if (!first)
				fputc(',', f);
			first = false;
			json_key(f, &list[i].slot[s], s);
		}
		fputs("]}", f);
	}
	fputs("]}", f);
}

static void
text_card(FILE *f, struct tool_ctx *ctx, struct tool_card *card)
{
	const struct ksp_container *list = NULL;
	struct ksp_pin_info pi;
	struct cert_facts cf;
	size_t n = 0, i;
	unsigned cfv[3];
	char hex[33], date[16];
	uint8_t ref = 0;
	bool refs = false;
	int s;

	fprintf(f, "Card %zu: %s \"%s\"", card->slot_index,
		card->slot->is_vcard ? "virtual card" : "reader", card->slot->name);
	if (card->slot->is_vcard)
		fprintf(f, " (%s)", card->slot->path);
	fputc('\n', f);
	if (card->state != TOOL_CARD_READY) {
		fprintf(f, "  state:       %s: %s\n\n", state_name(card->state), card->error);
		return;
	}
	hex_string(card->info.cardid, 16, hex);
	fprintf(f, "  card:        %s%s\n", card->info.card_name,
		card->info.read_only ? " (read-only)" : "");
	fprintf(f, "  label:       %s\n", card->label);
	fprintf(f, "  serial:      %s\n", card->info.serial);
	fprintf(f, "  cardid:      %s\n", hex);
	if (tool_pin_facts(card, &pi) == KSP_OK) {
		if (pi.blocked)
			fprintf(f, "  PIN:         blocked\n");
		else if (pi.tries_left >= 0 && pi.tries_max >= 0)
			fprintf(f, "  PIN:         %d of %d tries left\n", pi.tries_left,
				pi.tries_max);
		else if (pi.tries_left >= 0)
			fprintf(f, "  PIN:         %d tries left\n", pi.tries_left);
		else
			fprintf(f, "  PIN:         tries left unknown\n");
	}
	{
		struct md_pin_tries pt;
		bool has_puk = false;

		if (puk_tries(card, &has_puk, &pt)) {
			if (pt.left == 0)
				fprintf(f, "  PUK:         blocked\n");
			else if (pt.max != MD_VALUE_UNKNOWN)
				fprintf(f, "  PUK:         %u of %u tries left\n", pt.left, pt.max);
			else
				fprintf(f, "  PUK:         %u tries left\n", pt.left);
		} else if (has_puk) {
			fprintf(f, "  PUK:         tries left unknown (the card does not tell)\n");
		}
	}
	fprintf(f, "  free space:  ");
	if (card->info.free_containers != UINT32_MAX)
		fprintf(f, "%u of %u containers free, ", card->info.free_containers,
			card->info.max_containers);
	/* GIDS has no command that tells the free memory (CARD_DATA_VALUE_UNKNOWN). */
	if (card->info.free_bytes == UINT32_MAX)
		fprintf(f, "free bytes not reported by the card");
	else
		fprintf(f, "%u bytes", card->info.free_bytes);
	fputc('\n', f);
	fprintf(f, "  cache:       %s", cache_mode_name(ctx->cache_mode));
	if (ctx->cache_mode == TOOL_CACHE_PERSISTENT)
		fprintf(f, " in %s", ctx->cache_dir);
	if (read_cardcf(card, cfv))
		fprintf(f, " (cardcf: pins %u, containers %u, files %u)", cfv[0], cfv[1], cfv[2]);
	fputc('\n', f);
	if (ksp_card_containers(card->kc, &list, &n) != KSP_OK || n == 0) {
		fprintf(f, "  containers:  none\n\n");
		return;
	}
	/* cards whose keys have references of their own (PIV slots) show them */
	for (i = 0; i < n && !refs; i++)
		refs = key_reference(card, list[i].index, &ref);
	fprintf(f, "  containers:\n");
	fprintf(f, "    %-4s %s%-38s %-11s %5s %-3s %-10s %s\n", "IDX", refs ? "SLOT " : "", "NAME",
		"KEY SPEC", "BITS", "DEF", "EXPIRES", "CERTIFICATE SUBJECT");
	for (i = 0; i < n; i++) {
		char slot_col[8] = "";

		if (refs && key_reference(card, list[i].index, &ref))
			snprintf(slot_col, sizeof(slot_col), "%02X   ", ref);
		else if (refs)
			snprintf(slot_col, sizeof(slot_col), "%-5s", "-");
		for (s = 0; s < KSP_SLOTS; s++) {
			const struct ksp_key *k = &list[i].slot[s];

			if (k->spec == MDP_AT_NONE)
				continue;
			snprintf(date, sizeof(date), "-");
			memset(&cf, 0, sizeof(cf));
			if (k->cert) {
				cert_facts(k->cert, k->cert_len, &cf);
				if (cf.ok)
					snprintf(date, sizeof(date), "%.10s", cf.not_after);
			}
			fprintf(f, "    %-4u %s%-38s %-11s %5u %-3s %-10s %s\n", list[i].index,
				slot_col, list[i].name, mdp_key_spec_name(k->spec), k->bits,
				list[i].is_default ? "yes" : "", date,
				k->cert ? (cf.ok ? cf.subject : "(unreadable certificate)") : "-");
		}
	}
	fputc('\n', f);
}

int
tool_cmd_list(int argc, char **argv)
{
	struct tool_opts o;
	struct tool_ctx ctx;
	struct tool_card card;
	size_t i, cards = 0;
	bool selected;
	int rc;

	if (!tool_cmd_opts(argc, argv, TOOL_O_CARD | TOOL_O_JSON, "list", list_help, &o, &rc))
		return rc;
	rc = tool_ctx_init(&ctx, o.verbose, true);
	if (rc != TOOL_EXIT_OK) {
		tool_ctx_clear(&ctx);
		return rc;
	}
	selected = o.reader || o.card_index >= 0 || o.serial || o.token_uri;
	if (o.json)
		printf("{\"format\":\"mdp11-tool-list\",\"version\":%d,\"pcsc_problem\":",
		       LIST_JSON_VERSION);
	if (o.json) {
		tool_json_string(stdout, ctx.pcsc_problem[0] ? ctx.pcsc_problem : NULL);
		fputs(",\"cards\":[", stdout);
	}
	if (selected) {
		rc = tool_card_select(&ctx, &o, true, &card);
		if (rc == TOOL_EXIT_OK) {
			if (o.json)
				json_card(stdout, &ctx, &card);
			else
				text_card(stdout, &ctx, &card);
			tool_card_close(&card);
		}
	} else {
		if (ctx.nslots == 0 && !o.json)
			printf("No reader and no virtual card%s%s.\n",
			       ctx.pcsc_problem[0] ? ": " : "", ctx.pcsc_problem);
		for (i = 0; i < ctx.nslots; i++) {
			tool_card_open_slot(&ctx, i, &card);
			if (card.state != TOOL_CARD_ABSENT)
				cards++;
			if (o.json) {
				if (i)
					fputc(',', stdout);
				json_card(stdout, &ctx, &card);
			} else {
				text_card(stdout, &ctx, &card);
			}
			tool_card_close(&card);
		}
		if (!o.json && ctx.nslots && ctx.pcsc_problem[0])
			printf("(%s)\n", ctx.pcsc_problem);
	}
	if (o.json)
		fputs("]}\n", stdout);
	if (fflush(stdout) != 0)
		rc = tool_error(TOOL_EXIT_FAIL, "writing to standard output failed");
	else if (!selected && cards == 0)
		/* Nothing to work with: say how to get a card, and let scripts see it. */
		rc = tool_error(TOOL_EXIT_NO_CARD, "no card: %s", tool_no_card_hint(&ctx));
	tool_ctx_clear(&ctx);
	return rc;
}
