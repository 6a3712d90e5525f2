/*
 * fuzz_deletion.c
 *	  libFuzzer target for deletion files (src/lance/deletion.c, arrow_ipc.c).
 *
 * Byte 0 picks the form (even: .arrow Arrow IPC file, odd: .bin portable
 * RoaringBitmap); the rest is the file.  A decoded vector must be sorted
 * and unique; a decoded bitmap is re-encoded with CRoaring and must decode
 * to the same rows.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *	  test/fuzz/fuzz_deletion.c $LANCE_SRCS -lprotobuf-c -lzstd -llz4 -lroaring -lm
 * where LANCE_SRCS is every .c file of src/lance and src/lance/proto.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lance/lance_dataset.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LanceDeletionVector v;
	LanceError	err;
	int			rc;

	if (size < 1)
		return 0;
	LanceDeletionVectorInit(&v, NULL);
	if (data[0] % 2 == 0)
		rc = LanceDeletionDecodeArrow(data + 1, size - 1, &v, &err);
	else
		rc = LanceDeletionDecodeBitmap(data + 1, size - 1, &v, &err);
	if (rc == 0)
	{
		uint8_t    *bytes;
		size_t		len;

		for (int64_t i = 1; i < v.count; i++)
			if (v.rows[i] <= v.rows[i - 1])
				abort();
		if (LanceDeletionEncodeBitmap(&v, &bytes, &len, &err) == 0)
		{
			LanceDeletionVector w;

			LanceDeletionVectorInit(&w, NULL);
			if (LanceDeletionDecodeBitmap(bytes, len, &w, &err) != 0 || w.count != v.count ||
				(v.count > 0 && memcmp(w.rows, v.rows, sizeof(uint32_t) * (size_t) v.count) != 0))
				abort();
			LanceDeletionVectorReset(&w);
			LanceBytesFree(NULL, bytes, len);
		}
	}
	LanceDeletionVectorReset(&v);
	return 0;
}
