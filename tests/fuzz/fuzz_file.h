/* The loaders under test read files: each input goes into an anonymous
 * in-memory file, opened again through /proc/self/fd. */
#ifndef EMOTRACE_FUZZ_FILE_H
#define EMOTRACE_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Each harness defines its entry point with FUZZ_ENTRY(name): libFuzzer's
 * LLVMFuzzerTestOneInput, or fuzz_<name> when tests/test_fuzz_corpus.c
 * includes the harness to replay the corpus in `make test`. */
#ifdef FUZZ_IN_TESTS
#define FUZZ_ENTRY(name) int fuzz_##name(const uint8_t *data, size_t size)
#else
#define FUZZ_ENTRY(name) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

/* Replaces the memory file's content with data; returns its path, or NULL. */
const char *fuzz_file(const uint8_t *data, size_t size);

#endif
