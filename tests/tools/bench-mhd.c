/* The baseline for the gateway's HTTP benchmark: a bare libmicrohttpd
 * server that reads the request body and answers every request with a
 * constant JSON reply, set up the way a fast MHD server is: epoll, its own
 * threads (one per core by default, or one), keep-alive, one response
 * object shared by every request, no logging. Whatever the gateway does beyond
 * this is its own cost.
 *
 *   bench-mhd [--host IP] [--port N] [--threads N]
 *
 * Prints "LISTEN <port>" once serving; stops on SIGINT or SIGTERM. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static const char reply[] = "1";

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    struct MHD_Response *r = cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    /* The first call has the headers; the body comes in later calls; the
     * last call, with nothing left to upload, answers. */
    if (!*con_cls) {
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(c, 200, r);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    unsigned port = 0;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            host = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: bench-mhd [--host IP] [--port N] [--threads N]\n");
            return 2;
        }
    }
    if (threads < 1)
        threads = 1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "bench-mhd: bad address %s\n", host);
        return 2;
    }
    /* Blocked before MHD's threads start, so that only sigwait sees them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        sizeof(reply) - 1, (void *)reply, MHD_RESPMEM_PERSISTENT);
    if (!r || MHD_add_response_header(r, "Content-Type", "application/json") !=
                  MHD_YES)
        return 1;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, (uint16_t)port, NULL,
        NULL, on_access, r, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 1 ? threads : 0),
        MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench-mhd: cannot listen on %s:%u\n", host, port);
        return 1;
    }
    const union MHD_DaemonInfo *pi =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("LISTEN %u\n", pi ? (unsigned)pi->port : port);
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(r);
    return 0;
}
