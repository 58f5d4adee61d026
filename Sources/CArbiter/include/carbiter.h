#ifndef ARBITER_CARBITER_H
#define ARBITER_CARBITER_H

/// Names the calling thread for `top -H`, `perf` and debuggers (at most 15 bytes are
/// kept on Linux). Swift's Glibc module does not export pthread_setname_np, which needs
/// _GNU_SOURCE.
int arbiter_name_this_thread(const char *name);

#endif
