/*
 * test_webhook: the webhook sender inside a real lws context, against a
 * receiver on loopback run by this test: a delivery arrives with its body
 * and JSON content type; a receiver that answers 500 and one that is down
 * get the delivery again after the back-off; a bad URL is refused at once; a
 * host name is looked up off the loop (the resolver thread) and delivered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct lws_context *context;
static int listen_fd = -1, port;
static pthread_t receiver;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int fail_next;        /* answer 500 this many times */
static int received;
static char last_body[4096], last_type[128];

static void *receive_loop(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		char buf[8192];
		size_t got = 0;
		ssize_t n;
		char *body = NULL;
		long want = -1;
		while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			char *eoh = strstr(buf, "\r\n\r\n");
			if (eoh && want < 0) {
				char *cl = strcasestr(buf, "content-length:");
				want = cl ? strtol(cl + 15, NULL, 10) : 0;
				body = eoh + 4;
			}
			if (body && (long)(got - (size_t)(body - buf)) >= want)
				break;
		}
		pthread_mutex_lock(&lock);
		int fail = fail_next > 0;
		if (fail)
			fail_next--;
		else if (body) {
			received++;
			snprintf(last_body, sizeof last_body, "%s", body);
			char *ct = strcasestr(buf, "content-type:");
			snprintf(last_type, sizeof last_type, "%.*s", ct ? (int)strcspn(ct + 14, "\r\n") : 0, ct ? ct + 14 : "");
		}
		pthread_mutex_unlock(&lock);
		const char *reply = fail ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
					 : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
		ssize_t w = write(fd, reply, strlen(reply));
		(void)w;
		close(fd);
	}
}

static const struct lws_protocols protocols[] = {
	{"http", lws_callback_http_dummy, 0, 0, 0, NULL, 0},
	{"fpmon-webhook", webhook_callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static int setup(void **state)
{
	(void)state;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(listen_fd, 8) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	port = ntohs(a.sin_port);
	pthread_create(&receiver, NULL, receive_loop, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	lws_set_log_level(LLL_ERR, NULL);
	context = lws_create_context(&info);
	return context ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	lws_context_destroy(context);
	webhook_shutdown();
	shutdown(listen_fd, SHUT_RDWR);
	close(listen_fd);
	pthread_join(receiver, NULL);
	return 0;
}

/* Serve the loop until `want` deliveries arrived or `seconds` passed. */
static int serve_until(int want, int seconds)
{
	time_t end = time(NULL) + seconds;
	while (time(NULL) < end) {
		webhook_pump(context);
		lws_service(context, 0);
		pthread_mutex_lock(&lock);
		int n = received;
		pthread_mutex_unlock(&lock);
		if (n >= want)
			return n;
	}
	return received;
}

static void test_delivers_json(void **state)
{
	(void)state;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", port);
	const char *body = "{\"msgtype\":\"markdown\",\"markdown\":{\"content\":\"支付批次逾期\"}}";
	assert_int_equal(webhook_enqueue(url, body, strlen(body)), 0);
	assert_int_equal(serve_until(1, 20), 1);
	assert_string_equal(last_body, body);
	assert_non_null(strstr(last_type, "application/json"));
}

static void test_delivers_to_a_host_name(void **state)
{
	(void)state;
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	getsockname(listen_fd, (struct sockaddr *)&a, &alen); /* whichever port listens now */
	char url[64];
	snprintf(url, sizeof url, "http://localhost:%d/named", ntohs(a.sin_port));
	pthread_mutex_lock(&lock);
	int before = received;
	pthread_mutex_unlock(&lock);
	assert_int_equal(webhook_enqueue(url, "{\"n\":4}", 7), 0);
	assert_int_equal(serve_until(before + 1, 20), before + 1);
	assert_string_equal(last_body, "{\"n\":4}");
}

static void test_retries_after_an_error(void **state)
{
	(void)state;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", port);
	pthread_mutex_lock(&lock);
	fail_next = 1;
	pthread_mutex_unlock(&lock);
	assert_int_equal(webhook_enqueue(url, "{\"n\":2}", 7), 0);
	assert_int_equal(serve_until(2, 30), 2); /* first answer 500, then the retry after ~5 s */
	assert_string_equal(last_body, "{\"n\":2}");
}

static void test_receiver_down_then_up(void **state)
{
	(void)state;
	/* Nothing listens on this port at first. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	getsockname(fd, (struct sockaddr *)&a, &alen);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/later", ntohs(a.sin_port));
	assert_int_equal(webhook_enqueue(url, "{\"n\":3}", 7), 0);
	time_t end = time(NULL) + 2;
	while (time(NULL) < end) { /* refused connections: the delivery waits for its retry */
		webhook_pump(context);
		lws_service(context, 0);
	}
	/* The receiver comes up on that port: the retry reaches it. */
	shutdown(listen_fd, SHUT_RDWR); /* wakes the receiver's accept() */
	close(listen_fd);
	pthread_join(receiver, NULL);
	listen_fd = fd;
	assert_int_equal(listen(listen_fd, 8), 0);
	pthread_create(&receiver, NULL, receive_loop, NULL);
	assert_int_equal(serve_until(3, 40), 3);
	assert_string_equal(last_body, "{\"n\":3}");
}

static void test_bad_url(void **state)
{
	(void)state;
	assert_int_equal(webhook_enqueue("ftp://example/x", "{}", 2), -1);
	assert_int_equal(webhook_enqueue("not a url", "{}", 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_delivers_json),
		cmocka_unit_test(test_retries_after_an_error),
		cmocka_unit_test(test_receiver_down_then_up),
		cmocka_unit_test(test_delivers_to_a_host_name), /* counts on from the others' deliveries */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
