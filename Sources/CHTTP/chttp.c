#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "chttp.h"

static pthread_once_t initialised = PTHREAD_ONCE_INIT;
static void initialise(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

// One handle per thread: libcurl keeps its connections alive between requests.
static __thread CURL *handle = NULL;

typedef struct {
    const unsigned char *data;
    size_t length;
    size_t position;
} upload;

typedef struct {
    unsigned char *data;
    size_t length;
    size_t capacity;
} download;

static size_t read_body(char *buffer, size_t size, size_t count, void *user) {
    upload *u = user;
    size_t n = size * count;
    size_t left = u->length - u->position;
    if (n > left) n = left;
    memcpy(buffer, u->data + u->position, n);
    u->position += n;
    return n;
}

static size_t write_body(char *data, size_t size, size_t count, void *user) {
    download *d = user;
    size_t n = size * count;
    if (d->length + n > d->capacity) {
        size_t capacity = d->capacity ? d->capacity * 2 : 4096;
        while (capacity < d->length + n) capacity *= 2;
        unsigned char *grown = realloc(d->data, capacity);
        if (!grown) return 0;
        d->data = grown;
        d->capacity = capacity;
    }
    memcpy(d->data + d->length, data, n);
    d->length += n;
    return n;
}

int arbiter_http_request(const char *method, const char *url, const char *const *headers, size_t header_count,
                         const unsigned char *body, size_t body_length, const char *sigv4, const char *credentials,
                         long timeout_ms, arbiter_http_result *out) {
    pthread_once(&initialised, initialise);
    memset(out, 0, sizeof *out);
    if (!handle) handle = curl_easy_init();
    if (!handle) {
        strncpy(out->error, "cannot create a libcurl handle", sizeof out->error - 1);
        return CURLE_FAILED_INIT;
    }
    curl_easy_reset(handle);
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < header_count; i++) list = curl_slist_append(list, headers[i]);
    // No "Expect: 100-continue" round trip before uploads.
    list = curl_slist_append(list, "Expect:");
    upload up = {body, body_length, 0};
    download down = {NULL, 0, 0};
    download heads = {NULL, 0, 0};
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &down);
    // A header line arrives like a piece of the body: appended the same way.
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, write_body);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &heads);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(handle, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(handle, CURLOPT_READDATA, &up);
        curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_length);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(handle, CURLOPT_POST, 1L);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method);
    }
    if (sigv4) {
        curl_easy_setopt(handle, CURLOPT_AWS_SIGV4, sigv4);
        curl_easy_setopt(handle, CURLOPT_USERPWD, credentials);
    }
    CURLcode code = curl_easy_perform(handle);
    curl_slist_free_all(list);
    if (code != CURLE_OK) {
        strncpy(out->error, error[0] ? error : curl_easy_strerror(code), sizeof out->error - 1);
        free(down.data);
        free(heads.data);
        return (int)code;
    }
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = down.data;
    out->body_length = down.length;
    out->headers = heads.data;
    out->headers_length = heads.length;
    return 0;
}

void arbiter_http_free(arbiter_http_result *result) {
    free(result->body);
    result->body = NULL;
    result->body_length = 0;
    free(result->headers);
    result->headers = NULL;
    result->headers_length = 0;
}
