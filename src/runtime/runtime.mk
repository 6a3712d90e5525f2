# src/runtime/runtime.mk: how to build the I/O runtime, for every makefile
# that links it (the extension, test/unit, bench/).
#
# Set RUNTIME_DIR to the path of src/runtime as seen from the including
# makefile before including this file.  It defines:
#   RUNTIME_SRCS   every .c of the runtime
#   RUNTIME_LIBS   the libraries to link (liburing: Debian liburing-dev)

RUNTIME_SRCS := $(sort $(wildcard $(RUNTIME_DIR)/*.c))
RUNTIME_LIBS := -luring -lpthread
