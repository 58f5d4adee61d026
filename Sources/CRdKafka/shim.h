#ifndef ARBITER_CRDKAFKA_SHIM_H
#define ARBITER_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
