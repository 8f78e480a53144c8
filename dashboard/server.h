/*
 * server: the libwebsockets context, its one vhost and the HTTP routes. It
 * runs on the main thread (the only lws service thread); worker threads
 * reach it only through server_wake(), i.e. lws_cancel_service().
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>

int server_start(char *err, size_t errlen);
/* Serve until server_stop() (from a signal handler too). */
void server_run(void);
void server_stop(void);
void server_wake(void *unused); /* any thread */
/* Called on the service thread after a wake-up (signals turned into events). */
void server_on_wake(void (*fn)(void));
int server_port(void);
void server_destroy(void);

#endif
