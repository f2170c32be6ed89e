/*
 * digest: prints the SHA-256 of each argument (or of standard input with no arguments);
 * `digest --self-test` checks the implementation against known answers.
 */
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "selftest.h"
#include "sha256.h"

static int digest_stdin(void) {
  struct sha256 ctx;
  uint8_t buf[65536], digest[SHA256_DIGEST_SIZE];
  char hex[2 * SHA256_DIGEST_SIZE + 1];
  size_t n;
  sha256_init(&ctx);
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) sha256_update(&ctx, buf, n);
  if (ferror(stdin)) {
    perror("digest: stdin");
    return 1;
  }
  sha256_final(&ctx, digest);
  printf("%s  -\n", hex_encode(digest, sizeof digest, hex));
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--self-test") == 0) {
    int failed = selftest_run();
    printf("digest self-test: %s\n", failed == 0 ? "ok" : "FAILED");
    return failed == 0 ? 0 : 1;
  }
  if (argc == 1) return digest_stdin();
  for (int i = 1; i < argc; i++) {
    uint8_t digest[SHA256_DIGEST_SIZE];
    char hex[2 * SHA256_DIGEST_SIZE + 1];
    sha256_buffer(argv[i], strlen(argv[i]), digest);
    printf("sha256(\"%s\") = %s\n", argv[i], hex_encode(digest, sizeof digest, hex));
  }
  return 0;
}
