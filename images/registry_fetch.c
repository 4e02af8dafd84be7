/* Parallel, resumable blob downloads with curl's multi interface.
 *
 * Each blob goes through the store's streaming writer: zblob_begin reports
 * how much an interrupted earlier pull left in ingest/, and the request
 * asks for the rest with a Range header. A server that ignores the Range
 * (200 instead of 206) gets its body taken from byte 0 after zblob_restart.
 * A body longer than the declared size is cut off at the first byte too
 * many; a short one keeps the partial file for the next pull; the digest is
 * checked by zblob_commit before the blob becomes visible. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/cleanup.h"
#include "images/registry.h"

#define MAX_ATTEMPTS 3

enum zreg_range_action zreg_range_decide(uint64_t resume, long status, const char *content_range)
{
    if (status == 200)
        return resume == 0 ? ZRA_APPEND : ZRA_RESTART;
    if (status == 206) {
        /* "bytes START-END/TOTAL" or "bytes START-END/ *" */
        unsigned long long start, end;
        char tail[32];
        if (!content_range ||
            sscanf(content_range, "bytes %llu-%llu/%31s", &start, &end, tail) != 3 ||
            end < start)
            return ZRA_RETRY_FULL;
        return start == resume ? ZRA_APPEND : ZRA_RETRY_FULL;
    }
    if (status == 416 && resume > 0)
        return ZRA_RETRY_FULL;
    return ZRA_ERROR;
}

enum job_state { JOB_PENDING, JOB_ACTIVE, JOB_DONE };

struct job {
    const struct zreg_blob *blob;
    size_t index;
    enum job_state state;
    struct zblob_writer *w;
    uint64_t resume;          /* offset asked for in this attempt */
    uint64_t written;         /* bytes in the partial file */
    uint64_t received;        /* body bytes of this attempt */
    int attempts;
    bool reauthenticated;
    CURL *h;
    struct curl_slist *headers;
    struct zreg_response r;
    bool decided;             /* the first body byte has been looked at */
    bool error_body;          /* a non-2xx answer: the body is the error text */
    bool retry_full;          /* drop the partial and ask again without Range */
    bool too_long;
    bool write_failed;
    struct zerr werr;
    char url[1024];
    char errbuf[CURL_ERROR_SIZE];
    struct zprogress *progress;
};

static const char *short_hex(const char *digest)
{
    const char *colon = strchr(digest, ':');
    return colon ? colon + 1 : digest;
}

/* Applies the Range decision for the current response; false to abort. */
static bool decide(struct job *j)
{
    long status = 0;
    curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &status);
    j->r.status = status;
    j->decided = true;
    switch (zreg_range_decide(j->resume, status, j->r.content_range)) {
    case ZRA_APPEND:
        return true;
    case ZRA_RESTART:
        if (zblob_restart(j->w, &j->werr) < 0) {
            j->write_failed = true;
            return false;
        }
        j->written = 0;
        j->resume = 0;
        return true;
    case ZRA_RETRY_FULL:
        j->retry_full = true;
        return false;
    case ZRA_ERROR:
        j->error_body = true;
        return true;
    }
    return false;
}

static size_t blob_body_cb(char *data, size_t size, size_t n, void *arg)
{
    struct job *j = arg;
    size_t len = size * n;
    if (!j->decided && !decide(j))
        return 0;
    if (j->error_body) {
        /* keep the start of an error answer for the message */
        size_t room = ZREG_ERRBODY_MAX - j->r.len;
        size_t take = len < room ? len : room;
        if (take) {
            char *grown = realloc(j->r.body, j->r.len + take + 1);
            if (!grown)
                return 0;
            memcpy(grown + j->r.len, data, take);
            j->r.body = grown;
            j->r.len += take;
            grown[j->r.len] = 0;
        }
        return len;
    }
    if (j->blob->size >= 0 && len > (uint64_t)j->blob->size - j->written) {
        j->too_long = true;
        return 0;
    }
    if (zblob_write(j->w, data, len, &j->werr) < 0) {
        j->write_failed = true;
        return 0;
    }
    j->written += len;
    j->received += len;
    zprogress_update(j->progress, j->index, j->written);
    return len;
}

static void job_release_handle(CURLM *m, struct job *j)
{
    if (j->h) {
        curl_multi_remove_handle(m, j->h);
        curl_easy_cleanup(j->h);
        j->h = NULL;
    }
    curl_slist_free_all(j->headers);
    j->headers = NULL;
    zreg_response_clear(&j->r);
}

/* Starts (or restarts) the request of an active job from j->written. */
static int job_request(struct zreg_client *c, CURLM *m, struct job *j, struct zerr *e)
{
    j->h = curl_easy_init();
    if (!j->h)
        return zerr_set(e, ENOMEM, "curl: cannot create a handle");
    if (zreg_easy_setup(c, j->h, (void **)&j->headers, e) < 0)
        return -1;
    j->resume = j->written;
    j->received = 0;
    j->decided = j->error_body = j->retry_full = j->too_long = j->write_failed = false;
    if (j->resume > 0) {
        char range[64];
        snprintf(range, sizeof range, "Range: bytes=%" PRIu64 "-", j->resume);
        struct curl_slist *grown = curl_slist_append(j->headers, range);
        if (!grown)
            return zerr_set(e, ENOMEM, "curl: out of memory");
        j->headers = grown;
    }
    j->errbuf[0] = 0;
    j->attempts++;
    curl_easy_setopt(j->h, CURLOPT_URL, j->url);
    curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(j->h, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(j->h, CURLOPT_HEADERFUNCTION, zreg_header_cb);
    curl_easy_setopt(j->h, CURLOPT_HEADERDATA, &j->r);
    curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, blob_body_cb);
    curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
    CURLMcode mrc = curl_multi_add_handle(m, j->h);
    if (mrc != CURLM_OK)
        return zerr_set(e, EIO, "curl: %s", curl_multi_strerror(mrc));
    return 0;
}

static int job_commit(struct job *j, struct zerr *e)
{
    struct zblob_writer *w = steal_ptr(&j->w);
    j->state = JOB_DONE;
    if (zblob_commit(w, e) < 0) {
        zprogress_finish(j->progress, j->index, "failed");
        return zerr_prefix(e, "%s", j->blob->kind);   /* the store names the digest */
    }
    zprogress_finish(j->progress, j->index, "done");
    return 0;
}

/* Starts a pending job: skips it when the blob is already stored. */
static int job_start(struct zreg_client *c, struct zstore *s, CURLM *m, struct job *j,
                     struct zerr *e)
{
    const struct zreg_blob *b = j->blob;
    char label[64];
    snprintf(label, sizeof label, "%s %.12s", b->kind, short_hex(b->digest));
    zprogress_set(j->progress, j->index, label, b->size > 0 ? (uint64_t)b->size : 0);
    if (zstore_has_blob(s, b->digest)) {
        j->state = JOB_DONE;
        zprogress_finish(j->progress, j->index, "skipped: already exists");
        return 0;
    }
    if (zreg_build_url(c->scheme, c->registry, c->repo, "blobs", b->digest, j->url,
                       sizeof j->url, e) < 0)
        return -1;
    uint64_t resume = 0;
    if (zblob_begin(s, b->digest, b->size, &j->w, &resume, e) < 0)
        return zerr_prefix(e, "%s %s", b->kind, b->digest);
    if (zblob_present(j->w)) {
        /* another pull stored it while we waited for its lock */
        zblob_commit(steal_ptr(&j->w), e);
        j->state = JOB_DONE;
        zprogress_finish(j->progress, j->index, "skipped: already exists");
        return 0;
    }
    j->written = resume;
    if (b->size >= 0 && resume > (uint64_t)b->size) {
        /* more than the blob can hold: that partial is not ours to trust */
        if (zblob_restart(j->w, e) < 0)
            return zerr_prefix(e, "%s %s", b->kind, b->digest);
        j->written = 0;
    }
    j->state = JOB_ACTIVE;
    if (b->size >= 0 && j->written == (uint64_t)b->size)
        return job_commit(j, e);   /* everything arrived last time */
    zprogress_update(j->progress, j->index, j->written);
    return job_request(c, m, j, e);
}

static bool transient(CURLcode rc)
{
    return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_HTTP2_STREAM || rc == CURLE_OPERATION_TIMEDOUT;
}

/* A transfer ended: commit, retry or fail. */
static int job_done(struct zreg_client *c, CURLM *m, struct job *j, CURLcode rc, struct zerr *e)
{
    const struct zreg_blob *b = j->blob;
    if (rc == CURLE_OK && !j->decided)
        decide(j);   /* an empty body */
    if (j->too_long) {
        job_release_handle(m, j);
        return zerr_set(e, EPROTO, "%s %s: the registry sent more than the declared %" PRId64
                        " bytes", b->kind, b->digest, b->size);
    }
    if (j->write_failed) {
        job_release_handle(m, j);
        *e = j->werr;
        return zerr_prefix(e, "%s %s", b->kind, b->digest);
    }
    if (j->retry_full || (rc == CURLE_OK && j->error_body &&
                          zreg_range_decide(j->resume, j->r.status, j->r.content_range) ==
                              ZRA_RETRY_FULL)) {
        job_release_handle(m, j);
        if (j->attempts >= MAX_ATTEMPTS)
            return zerr_set(e, EPROTO, "%s %s: the registry does not answer Range requests "
                            "correctly", b->kind, b->digest);
        if (zblob_restart(j->w, e) < 0)
            return zerr_prefix(e, "%s %s", b->kind, b->digest);
        j->written = 0;
        return job_request(c, m, j, e);
    }
    if (rc == CURLE_OK && j->error_body) {
        if (j->r.status == 401 && j->r.www_authenticate && !j->reauthenticated) {
            /* a token that expired mid-pull, or a blob with its own scope */
            _cleanup_free_ char *challenge = strdup(j->r.www_authenticate);
            job_release_handle(m, j);
            j->reauthenticated = true;
            if (!challenge)
                return zerr_set(e, ENOMEM, "out of memory");
            if (zreg_authenticate(c, challenge, e) < 0)
                return -1;
            return job_request(c, m, j, e);
        }
        char desc[512];
        zreg_describe_status(&j->r, desc, sizeof desc);
        job_release_handle(m, j);
        return zerr_set(e, j->r.status == 404 ? ENOENT : EPROTO, "%s %s: GET %s: %s", b->kind,
                        b->digest, j->url, desc);
    }
    if (rc != CURLE_OK) {
        char msg[CURL_ERROR_SIZE + 64];
        snprintf(msg, sizeof msg, "%s", j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
        bool progressed = j->received > 0;
        job_release_handle(m, j);
        if (transient(rc) && progressed && j->attempts < MAX_ATTEMPTS)
            return job_request(c, m, j, e);   /* resumes from what arrived */
        return zerr_set(e, EIO, "%s %s: GET %s: %s (%" PRIu64 " of %" PRId64 " bytes stored; "
                        "the next pull resumes from there)", b->kind, b->digest, j->url, msg,
                        j->written, b->size);
    }
    job_release_handle(m, j);
    if (b->size >= 0 && j->written != (uint64_t)b->size) {
        if (j->attempts < MAX_ATTEMPTS && j->received > 0)
            return job_request(c, m, j, e);
        return zerr_set(e, EPROTO, "%s %s: the registry sent %" PRIu64 " of the declared %" PRId64
                        " bytes", b->kind, b->digest, j->written, b->size);
    }
    return job_commit(j, e);
}

int zreg_fetch_blobs(struct zreg_client *c, struct zstore *s, const struct zreg_blob *blobs,
                     size_t n, int parallel, struct zprogress *p, struct zerr *e)
{
    if (parallel <= 0)
        parallel = 3;
    for (size_t i = 0; i < n; i++) {
        if (zdigest_check(blobs[i].digest, blobs[i].kind, e) < 0)
            return -1;
        if (blobs[i].size < 0 || (uint64_t)blobs[i].size > (uint64_t)blobs[i].limit)
            return zerr_set(e, EFBIG, "%s %s: declared size %" PRId64 " is outside the limit of "
                            "%" PRId64 " bytes", blobs[i].kind, blobs[i].digest, blobs[i].size,
                            blobs[i].limit);
    }
    struct job *jobs = calloc(n ? n : 1, sizeof *jobs);
    CURLM *m = curl_multi_init();
    int ret = -1;
    if (!jobs || !m) {
        zerr_set(e, ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i].blob = &blobs[i];
        jobs[i].index = i;
        jobs[i].progress = p;
    }
    size_t next = 0;
    for (;;) {
        int active = 0;
        for (size_t i = 0; i < n; i++)
            active += jobs[i].state == JOB_ACTIVE;
        while (active < parallel && next < n) {
            if (job_start(c, s, m, &jobs[next], e) < 0)
                goto out;
            active += jobs[next].state == JOB_ACTIVE;
            next++;
        }
        if (active == 0 && next == n)
            break;
        int running = 0;
        CURLMcode mrc = curl_multi_perform(m, &running);
        if (mrc != CURLM_OK) {
            zerr_set(e, EIO, "curl: %s", curl_multi_strerror(mrc));
            goto out;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct job *j = NULL;
            CURLcode result = msg->data.result;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            if (job_done(c, m, j, result, e) < 0)
                goto out;
        }
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 200, NULL);
    }
    ret = 0;
out:
    if (jobs) {
        for (size_t i = 0; i < n; i++) {
            if (m)
                job_release_handle(m, &jobs[i]);
            if (jobs[i].w) {
                /* keep what arrived: the next pull resumes from it */
                zblob_abort(jobs[i].w, true);
                jobs[i].w = NULL;
                zprogress_finish(p, i, "failed");
            }
        }
    }
    if (m)
        curl_multi_cleanup(m);
    free(jobs);
    return ret;
}
