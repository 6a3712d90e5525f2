/*
 * fuzz_manifest.c
 *	  libFuzzer target for manifest files and row id sequences
 *	  (src/lance/manifest.c, rowids.c).
 *
 * The input is a whole manifest file.  A decoded manifest is re-encoded and
 * decoded again (the second decode must succeed: we must be able to read
 * what we write), and every fragment's inline row ids are decoded.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *	  test/fuzz/fuzz_manifest.c $LANCE_SRCS -lprotobuf-c -lzstd -llz4 -lroaring -lm
 * where LANCE_SRCS is every .c file of src/lance and src/lance/proto.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lance/lance_dataset.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LanceManifest m;
	LanceError	err;
	uint8_t    *bytes;
	size_t		len;

	LanceManifestInit(&m, NULL);
	if (LanceManifestDecode(data, size, &m, &err) != 0)
		return 0;
	(void) LanceManifestCheckReadable(&m, &err);
	for (int32_t i = 0; i < m.num_fragments; i++)
	{
		LanceRowIds ids;

		(void) LanceFragmentLiveRows(&m.fragments[i]);
		if (m.fragments[i].row_ids == NULL)
			continue;
		LanceRowIdsInit(&ids, NULL);
		(void) LanceRowIdsDecode(m.fragments[i].row_ids, m.fragments[i].row_ids_len, &ids, &err);
		LanceRowIdsReset(&ids);
	}
	if (LanceManifestEncode(&m, &bytes, &len, &err) == 0)
	{
		LanceManifest again;

		LanceManifestInit(&again, NULL);
		if (LanceManifestDecode(bytes, len, &again, &err) != 0)
			abort();			/* we cannot read what we wrote */
		LanceManifestReset(&again);
		LanceBytesFree(NULL, bytes, len);
	}
	LanceManifestReset(&m);
	return 0;
}
