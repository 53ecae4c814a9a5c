/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bounds-checked byte cursor (reader), growable byte buffer (writer), BER-TLV. */
#ifndef MDP11_COMMON_BYTES_H
#define MDP11_COMMON_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * Reader. Every get_* checks the remaining length first; a failed read
 * sets cur->bad, returns 0 / NULL and leaves the position where it was, so
 * a parser can read a whole header and test cur->bad once. Byte order is in
 * the name: CAPI blobs are little-endian, CNG and ISO 7816 big-endian.
 */
struct mdp_cursor {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool bad;
};

void cur_init(struct mdp_cursor *c, const uint8_t *p, size_t len);
size_t cur_left(const struct mdp_cursor *c);
uint8_t cur_get_u8(struct mdp_cursor *c);
uint16_t cur_get_le16(struct mdp_cursor *c);
uint32_t cur_get_le32(struct mdp_cursor *c);
uint16_t cur_get_be16(struct mdp_cursor *c);
uint32_t cur_get_be32(struct mdp_cursor *c);
/* Pointer to the next n bytes (advancing past them), NULL if fewer remain. */
const uint8_t *cur_get_bytes(struct mdp_cursor *c, size_t n);
/* Sub-cursor over the next n bytes. */
bool cur_sub(struct mdp_cursor *c, size_t n, struct mdp_cursor *sub);
bool cur_skip(struct mdp_cursor *c, size_t n);

/*
 * Writer. Grows as needed. A buffer created with buf_init_secret() never
 * reallocs in place: it copies to fresh memory and wipes the old block, and
 * buf_free() wipes. After any failed put, buf->bad is set and later puts
 * are no-ops, so a writer checks once at the end.
 */
struct mdp_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool secret;
	bool bad;
};

void buf_init(struct mdp_buf *b);
void buf_init_secret(struct mdp_buf *b);
void buf_free(struct mdp_buf *b);
/* Make room for n more bytes; false on allocation failure. */
bool buf_reserve(struct mdp_buf *b, size_t n);
void buf_put_u8(struct mdp_buf *b, uint8_t v);
void buf_put_le16(struct mdp_buf *b, uint16_t v);
void buf_put_le32(struct mdp_buf *b, uint32_t v);
void buf_put_be16(struct mdp_buf *b, uint16_t v);
void buf_put_be32(struct mdp_buf *b, uint32_t v);
void buf_put_bytes(struct mdp_buf *b, const void *p, size_t n);
/* n bytes of src in reverse order (little-endian <-> big-endian conversion). */
void buf_put_reversed(struct mdp_buf *b, const uint8_t *src, size_t n);
void buf_put_zeros(struct mdp_buf *b, size_t n);
/*
 * Hand the bytes to the caller (who frees them; with a secret buffer, with
 * mdp_secure_free(p, len)). The buffer is left empty. NULL if bad.
 */
uint8_t *buf_steal(struct mdp_buf *b, size_t *len);

/* Reverse n bytes in place. */
void mdp_reverse(uint8_t *p, size_t n);

/*
 * BER-TLV (ISO 7816-4 / DER subset): tags of 1 to 3 bytes, definite lengths
 * in short form or long form with 1 to 3 length bytes. Indefinite lengths
 * are refused.
 */
/* Read one TLV; value points into the input. */
enum mdp_err tlv_read(struct mdp_cursor *c, uint32_t *tag, struct mdp_cursor *value);
/* Find the first TLV with this tag among the TLVs of c (one level, no recursion). */
enum mdp_err tlv_find(const uint8_t *p, size_t len, uint32_t tag, struct mdp_cursor *value);
/* Encoded size of a TLV header for tag and value length. */
size_t tlv_header_len(uint32_t tag, size_t len);
void buf_put_tag(struct mdp_buf *b, uint32_t tag);
void buf_put_len(struct mdp_buf *b, size_t len);
void buf_put_tlv(struct mdp_buf *b, uint32_t tag, const void *value, size_t len);
/*
 * Nested TLVs whose length is not known in advance: open reserves a 4-byte
 * long-form length (the minimal form is produced by close, which moves the
 * value down). Returns a mark to pass to close.
 */
size_t buf_tlv_open(struct mdp_buf *b, uint32_t tag);
void buf_tlv_close(struct mdp_buf *b, size_t mark);

/* Hex helpers for tools and tests: lower-case output, whitespace-tolerant input. */
char *mdp_hex_encode(const uint8_t *p, size_t len);
/* Value of one hex digit (either case), -1 for any other character. */
int mdp_hex_digit(int c);
/* Bytes decoded, or -1 on a bad digit, odd count or overflow (out may then be partly written). */
long mdp_hex_decode(const char *hex, uint8_t *out, size_t cap);

#endif
