#ifndef ARBITER_COPENBLAS_SHIM_H
#define ARBITER_COPENBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
