# lancedb: PGXS build, tests and benchmarks.
#
#   make                  build the extension (WERROR=1 turns warnings into errors)
#   make install          install into the PostgreSQL found by PG_CONFIG
#   make installcheck     pg_regress suites (sql/, expected/) on a temporary
#                         instance with lancedb preloaded
#   make tapcheck         TAP tests (test/t/) with PostgreSQL::Test::Cluster
#   make unitcheck        C unit tests (test/unit/), plain, with ASan/UBSan, and
#                         the runtime's with ThreadSanitizer
#   make interopcheck     round trips against the real LanceDB (test/interop/;
#                         its install.sh fetches the pinned npm packages once)
#   make fuzzcheck        a bounded libFuzzer run of every test/fuzz/ target
#                         (FUZZ_TIME seconds each, default 20), TAP output
#   make tools            build tools/lance-inspect (tools/README.md)
#   make toolcheck        behaviour tests of lance-inspect (test/tools/), TAP
#
# scripts/test.sh runs all of them from a fresh machine; see README.md.

EXTENSION = lancedb
MODULE_big = lancedb
DATA = $(wildcard extension/lancedb--*.sql)

VECTOR_OBJS = src/vector/vector.o src/vector/vector_io.o src/vector/vector_ops.o \
	src/vector/vector_agg.o src/vector/distance.o src/vector/distance_avx2.o
LANCE_DIR = src/lance
include $(LANCE_DIR)/lance.mk
LANCE_OBJS = $(LANCE_SRCS:.c=.o)

RUNTIME_DIR = src/runtime
include $(RUNTIME_DIR)/runtime.mk
RUNTIME_OBJS = $(RUNTIME_SRCS:.c=.o)
STORAGE_OBJS = src/storage/io.o src/storage/io_debug.o src/storage/side_catalog.o \
	src/storage/side_debug.o src/storage/side_file.o src/storage/side_fs.o \
	src/storage/side_gc.o src/storage/side_lance.o src/storage/side_storage.o \
	src/storage/side_wal.o

IVF_OBJS = src/ivf/ivf_build.o src/ivf/ivf_build_parallel.o src/ivf/ivf_delta.o src/ivf/ivf_fold.o \
	src/ivf/ivf_handler.o src/ivf/ivf_meta.o \
	src/ivf/ivf_reuse.o src/ivf/ivf_scan.o src/ivf/ivf_segment.o src/ivf/ivf_vacuum.o src/ivf/kmeans.o \
	src/ivf/rabitq.o src/ivf/rabitq_ex.o src/ivf/assign.o src/ivf/coarse.o

OBJS = src/lancedb.o $(VECTOR_OBJS) $(LANCE_OBJS) $(RUNTIME_OBJS) $(STORAGE_OBJS) $(IVF_OBJS)
SHLIB_LINK += $(LANCE_LIBS) $(RUNTIME_LIBS)

# Only the SQL entry points are exported: pgvector (or anything else) loaded
# in the same backend must never bind to our internal symbols, nor we to its.
# The server headers are system headers to the compiler, so -Wextra speaks
# about our code only.
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(includedir_server) -fvisibility=hidden \
	-DPGDLLEXPORT='__attribute__((visibility("default")))'
PG_CFLAGS = -Wall -Wextra
ifdef WERROR
PG_CFLAGS += -Werror
endif

REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --temp-instance=tmp_regress --temp-config=$(srcdir)/test/regress.conf \
	--load-extension=lancedb

EXTRA_CLEAN = tmp_regress tmp_check results regression.diffs regression.out \
	$(LANCE_PROTO_C) $(LANCE_PROTO_H)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: tapcheck unitcheck interopcheck fuzzcheck tools install-tools clean-tools toolcheck

$(LANCE_OBJS): | $(LANCE_PROTO_H)

# PGXS tracks no header dependencies: every object depends on every header of
# ours, so that changing a struct rebuilds whatever uses it.
$(OBJS): $(wildcard src/*.h src/*/*.h)

# PGXS's prove_installcheck, pointed at test/t/.
tapcheck:
	$(prove_installcheck)
tapcheck: PROVE_TESTS = test/t/*.pl

unitcheck:
	$(MAKE) -C test/unit run
	$(MAKE) -C test/unit run-sanitize
	$(MAKE) -C test/unit run-tsan

interopcheck:
	bash test/interop/run.sh

fuzzcheck:
	$(MAKE) -C test/fuzz -s run

# tools/lance-inspect, over the Lance library only (tools/Makefile builds it
# with its own flags).  The protobuf headers are generated here first so the
# two makes never run protoc-c at once.
tools: | $(LANCE_PROTO_H)
	$(MAKE) -C tools

# Built and installed with the extension.
all: tools
install: install-tools

install-tools: tools
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) tools/lance-inspect '$(DESTDIR)$(bindir)/lance-inspect'

clean: clean-tools
clean-tools:
	$(MAKE) -C tools clean
	$(MAKE) -C test/tools clean

toolcheck: tools
	bash test/tools/run.sh
