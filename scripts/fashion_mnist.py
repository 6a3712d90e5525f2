"""Fashion-MNIST for the lancedb demo and benchmarks.

Reads the IDX files of Debian's dataset-fashion-mnist package into numpy
arrays, bulk-loads them into a table with a binary COPY, and computes exact
nearest neighbours in numpy as ground truth.

Only numpy and the standard library are needed; load_table takes an open
psycopg2 connection.
"""

import gzip
import struct

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

SIDE = 28
DIM = SIDE * SIDE

_IDX_UBYTE = 0x08


def read_idx(path):
    """An IDX file (optionally gzipped) of unsigned bytes as a numpy array.

    Layout: 2 zero bytes, a type byte (0x08 = ubyte), the number of
    dimensions, one big-endian uint32 per dimension, then the data.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, kind, ndim = struct.unpack_from(">HBB", raw, 0)
    if zero != 0 or kind != _IDX_UBYTE:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack_from(f">{ndim}I", raw, 4)
    offset = 4 + 4 * ndim
    count = int(np.prod(shape))
    if len(raw) != offset + count:
        raise ValueError(f"{path}: expected {count} data bytes, found {len(raw) - offset}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def load(split, data_dir=DATA_DIR):
    """(images, labels) of split 'train' (60,000) or 'test' (10,000).

    images: float32 array N x 784 with pixel values 0..255 (row-major 28x28);
    labels: int64 array of N class indexes into CLASS_NAMES.
    """
    prefix = {"train": "train", "test": "t10k"}[split]
    images = read_idx(f"{data_dir}/{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(f"{data_dir}/{prefix}-labels-idx1-ubyte.gz")
    if images.shape[1:] != (SIDE, SIDE) or len(images) != len(labels):
        raise ValueError(f"{split}: unexpected shapes {images.shape}, {labels.shape}")
    return images.reshape(len(images), DIM).astype(np.float32), labels.astype(np.int64)


def vector_literal(v):
    """The text form of a vector, '[1,2,3]'."""
    return "[" + ",".join("%.9g" % x for x in v) + "]"


# -- binary COPY --------------------------------------------------------------

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # flags, extension length
_COPY_TRAILER = struct.pack(">h", -1)


def _copy_rows(ids, labels, vectors):
    """The tuples (id int4, label int4, embedding vector) in binary COPY form.

    Each tuple is an int16 field count, then per field an int32 byte length and
    the value in the type's binary send format; for vector that is uint16 dim,
    uint16 unused (0), then dim big-endian float4s.
    """
    dim = vectors.shape[1]
    row = np.dtype([
        ("nfields", ">i2"),
        ("id_len", ">i4"), ("id", ">i4"),
        ("label_len", ">i4"), ("label", ">i4"),
        ("vec_len", ">i4"), ("dim", ">u2"), ("unused", ">u2"), ("vec", ">f4", (dim,)),
    ])
    rows = np.empty(len(ids), dtype=row)
    rows["nfields"] = 3
    rows["id_len"] = 4
    rows["id"] = ids
    rows["label_len"] = 4
    rows["label"] = labels
    rows["vec_len"] = 4 + 4 * dim
    rows["dim"] = dim
    rows["unused"] = 0
    rows["vec"] = vectors
    return rows.tobytes()


class _CopyStream:
    """A read()-able stream of binary COPY data, built a batch of rows at a time
    so that the whole table never sits in client memory as bytes."""

    def __init__(self, ids, labels, vectors, batch=8192):
        self._chunks = self._generate(ids, labels, vectors, batch)
        self._buf = memoryview(b"")

    @staticmethod
    def _generate(ids, labels, vectors, batch):
        yield _COPY_HEADER
        for start in range(0, len(ids), batch):
            end = start + batch
            yield _copy_rows(ids[start:end], labels[start:end], vectors[start:end])
        yield _COPY_TRAILER

    def read(self, size=-1):
        while len(self._buf) == 0:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buf = memoryview(chunk)
        if size is None or size < 0:
            size = len(self._buf)
        out, self._buf = self._buf[:size], self._buf[size:]
        return out.tobytes()


def load_table(conn, table, images, labels):
    """(Re)create 'table (id int PRIMARY KEY, label int, embedding vector(DIM))'
    and fill it with one binary COPY; row i gets id i.  Commits."""
    images = np.asarray(images, dtype=np.float32)
    n, dim = images.shape
    ids = np.arange(n, dtype=np.int32)
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, label int, embedding vector({dim}))")
        cur.copy_expert(f"COPY {table} (id, label, embedding) FROM STDIN WITH (FORMAT binary)",
                        _CopyStream(ids, np.asarray(labels, dtype=np.int32), images),
                        size=1 << 20)
    conn.commit()


# -- ground truth ---------------------------------------------------------------

def exact_topk(base, queries, k, block=256):
    """Exact k nearest neighbours by L2 distance, computed in float64.

    Returns (ids, distances), both Q x k, nearest first; ties are broken by the
    smaller id.  Squared distances come from |b|^2 - 2 q.b + |q|^2 (one matrix
    product per block of queries), then the k winners' distances are recomputed
    directly from the differences, so cancellation cannot skew the result.  For
    Fashion-MNIST's integer pixels every step is exact.
    """
    base = np.asarray(base, dtype=np.float64)
    queries = np.asarray(queries, dtype=np.float64)
    base_sq = np.einsum("ij,ij->i", base, base)
    all_ids = np.empty((len(queries), k), dtype=np.int64)
    all_dist = np.empty((len(queries), k), dtype=np.float64)
    margin = min(len(base), k + 16)  # a few spares against rounding in the expansion
    for start in range(0, len(queries), block):
        q = queries[start:start + block]
        d2 = base_sq[None, :] - 2.0 * (q @ base.T)
        cand = np.argpartition(d2, margin - 1, axis=1)[:, :margin]
        for j, (qv, c) in enumerate(zip(q, cand)):
            diff = base[c] - qv
            exact = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            order = np.lexsort((c, exact))[:k]
            all_ids[start + j] = c[order]
            all_dist[start + j] = exact[order]
    return all_ids, all_dist


def l2_distances(base, query, ids):
    """The exact (float64) L2 distances from 'query' to base rows 'ids'."""
    diff = np.asarray(base[ids], dtype=np.float64) - np.asarray(query, dtype=np.float64)
    return np.sqrt(np.einsum("ij,ij->i", diff, diff))
