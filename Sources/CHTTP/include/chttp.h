#ifndef ARBITER_CHTTP_H
#define ARBITER_CHTTP_H

#include <stddef.h>

/// The outcome of one HTTP request made through libcurl.
typedef struct {
    /// HTTP status, or 0 when no response came (see `error`).
    long status;
    /// The response body (malloc'd; free with arbiter_http_free).
    unsigned char *body;
    size_t body_length;
    /// The response's header lines as they came, CRLF-terminated, status line first
    /// (malloc'd; freed with the body).
    unsigned char *headers;
    size_t headers_length;
    /// libcurl's reason when the request failed below HTTP.
    char error[256];
} arbiter_http_result;

/// One blocking request on this thread's reused connection handle. `headers` are full
/// header lines ("Name: value"). `sigv4` ("aws:amz:REGION:s3"), with `credentials`
/// ("KEY:SECRET"), signs it with AWS Signature Version 4. Returns 0 when a response
/// came (any status), else a libcurl error code. Swift cannot call curl_easy_setopt
/// (it is variadic), hence this wrapper.
int arbiter_http_request(const char *method, const char *url, const char *const *headers, size_t header_count,
                         const unsigned char *body, size_t body_length, const char *sigv4, const char *credentials,
                         long timeout_ms, arbiter_http_result *out);

void arbiter_http_free(arbiter_http_result *result);

#endif
