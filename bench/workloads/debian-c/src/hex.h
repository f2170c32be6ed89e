/* Lower-case hexadecimal encoding. */
#ifndef DIGEST_HEX_H
#define DIGEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len hex digits and a NUL to out (which must hold 2*len+1 bytes); returns out. */
char *hex_encode(const uint8_t *data, size_t len, char *out);

#endif
