#include "selftest.h"

#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "sha256.h"

struct vector {
  const char *input;
  size_t repeat;
  const char *expected;
};

/* FIPS 180-4 / NIST examples, plus the padding edge cases at 55, 56 and 64 bytes. */
static const struct vector vectors[] = {
    {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    {"a", 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
    {"a", 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
    {"a", 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
};

int selftest_run(void) {
  int failed = 0;
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    const struct vector *v = &vectors[i];
    struct sha256 ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    char hex[2 * SHA256_DIGEST_SIZE + 1];
    sha256_init(&ctx);
    for (size_t r = 0; r < v->repeat; r++) sha256_update(&ctx, v->input, strlen(v->input));
    sha256_final(&ctx, digest);
    if (strcmp(hex_encode(digest, sizeof digest, hex), v->expected) != 0) {
      fprintf(stderr, "self-test %zu failed: got %s, want %s\n", i, hex, v->expected);
      failed++;
    }
  }
  return failed;
}
