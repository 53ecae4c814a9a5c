/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON string escaping for `mdp11-tool list --json`: always valid JSON, whatever the bytes. */
#include "config.h"

#include <string.h>

#include "tools/tool.h"

/* Length of a valid UTF-8 sequence at p (at most n bytes), 0 when invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		len = 2;
		cp = p[0] & 0x1Fu;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		len = 3;
		cp = p[0] & 0x0Fu;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		len = 4;
		cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3Fu);
	}
	/* Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

void
tool_json_string_n(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	fputc('"', f);
	while (i < len) {
		unsigned char c = p[i];

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20 || c == 0x7F) {
				fprintf(f, "\\u%04x", c);
			} else if (c < 0x80) {
				fputc(c, f);
			} else {
				n = utf8_seq(p + i, len - i);
				if (n == 0) {
					fputs("\\ufffd", f);
				} else {
					fwrite(p + i, 1, n, f);
					i += n - 1;
				}
			}
			break;
		}
		i++;
	}
	fputc('"', f);
}

void
tool_json_string(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	tool_json_string_n(f, s, strlen(s));
}
