/* Known-answer tests for the SHA-256 implementation. */
#ifndef DIGEST_SELFTEST_H
#define DIGEST_SELFTEST_H

/* Returns the number of failed vectors (0 when all pass); reports failures on stderr. */
int selftest_run(void);

#endif
