# src/lance/lance.mk: how to build the Lance format library, for every
# makefile that links it (the extension, test/unit, test/fuzz, tools/).
#
# Set LANCE_DIR to the path of src/lance as seen from the including makefile
# before including this file.  It defines:
#   LANCE_SRCS     every .c of the library, generated protobuf code included
#   LANCE_PROTO_H  the generated protobuf headers; make objects that include
#                  them depend on these (an order-only prerequisite is enough)
#   LANCE_LIBS     the libraries to link
#
# Our .proto files (src/lance/proto/) are minimal definitions written from the
# format's fact sheet; protoc-c (Debian protobuf-c-compiler) generates C from
# them at build time.  Generated files are not tracked.

LANCE_PROTOS := $(sort $(wildcard $(LANCE_DIR)/proto/*.proto))
LANCE_PROTO_C := $(LANCE_PROTOS:.proto=.pb-c.c)
LANCE_PROTO_H := $(LANCE_PROTOS:.proto=.pb-c.h)
LANCE_SRCS := $(sort $(wildcard $(LANCE_DIR)/*.c)) $(LANCE_PROTO_C)
LANCE_LIBS := -lprotobuf-c -lzstd -llz4 -lroaring -lm

$(LANCE_DIR)/proto/%.pb-c.c $(LANCE_DIR)/proto/%.pb-c.h: $(LANCE_DIR)/proto/%.proto
	protoc-c --proto_path=$(LANCE_DIR)/proto --c_out=$(LANCE_DIR)/proto $<
