/*
 * bench_bare_lws: the baseline for bench_push, a minimal lws server with
 * nothing of fpmond in it. One service thread, the default poll loop, the
 * file-descriptor limit raised before the context is made and connections
 * capped below it. `GET /trigger?r=R` makes a ~SIZE-byte text message
 * {"type":"delta","seq":R,...} and asks for WRITEABLE on every connection of
 * the "fpmon-live" protocol; each writes it with one lws_write (LWS_PRE
 * headroom) — as lws's minimal-ws-server-threads does at v4.1.6.
 * Prints "port N" on stdout once listening; stops on SIGTERM/SIGINT.
 *   bench_bare_lws [--port 0] [--size 300] [--rx-buffer 128] [--tag X (ignored: lets a script find its own process)]
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_SIZE 65536

static struct lws_context *context;
static volatile sig_atomic_t interrupted;
static unsigned char msg[LWS_PRE + MAX_SIZE];
static size_t msg_len, msg_size = 300;
static unsigned long msg_seq; /* 0: nothing sent yet */
static int connections, max_connections;

struct pss {
	unsigned long sent_seq;
};

static void make_message(long round)
{
	char *p = (char *)msg + LWS_PRE;
	int n = snprintf(p, MAX_SIZE, "{\"type\":\"delta\",\"seq\":%ld,\"topic\":\"region:610824000000\",\"pad\":\"", round);
	size_t want = msg_size > (size_t)n + 2 ? msg_size - 2 : (size_t)n;
	while ((size_t)n < want)
		p[n++] = 'x';
	p[n++] = '"';
	p[n++] = '}';
	msg_len = (size_t)n;
	msg_seq++;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
static int callback_live(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static struct lws_protocols protocols[] = {
	{"http", callback_http, 0, 0, 0, NULL, 0},
	/* rx buffer 128 as in the minimal example; tx_packet_size set, else it is the rx
	 * buffer size and lws 4.1.6 sends a 300-byte message in 128-byte pieces
	 * (measured here: p50 17 ms instead of 7 at 1,000 clients) */
	{"fpmon-live", callback_live, sizeof(struct pss), 128, 0, NULL, 4096},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return connections >= max_connections; /* never reach EMFILE */
	case LWS_CALLBACK_WSI_CREATE:
		connections++;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		connections--;
		break;
	case LWS_CALLBACK_HTTP: {
		char r[32];
		const char *v = strcmp((const char *)in, "/trigger") == 0 ? lws_get_urlarg_by_name(wsi, "r=", r, sizeof r)
									  : NULL;
		if (v) { /* v points past "r=" in r */
			make_message(strtol(v, NULL, 10));
			lws_callback_on_writable_all_protocol(context, &protocols[1]);
			if (lws_return_http_status(wsi, HTTP_STATUS_OK, "ok"))
				return -1;
		} else if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL)) {
			return -1;
		}
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int callback_live(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss *pss = user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->sent_seq = msg_seq; /* only messages made after it joined */
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->sent_seq == msg_seq)
			break;
		if (lws_write(wsi, msg + LWS_PRE, msg_len, LWS_WRITE_TEXT) < (int)msg_len)
			return -1;
		pss->sent_seq = msg_seq;
		break;
	default:
		break;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
	if (context)
		lws_cancel_service(context);
}

int main(int argc, char **argv)
{
	int port = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--size") == 0)
			msg_size = (size_t)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rx-buffer") == 0) /* fpmond's fpmon-live uses 4096 */
			protocols[1].rx_buffer_size = (size_t)strtoul(argv[i + 1], NULL, 10);
	}
	if (msg_size < 64 || msg_size > MAX_SIZE - 1)
		msg_size = 300;
	/* lws sizes its fd tables from RLIMIT_NOFILE: raise it first */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	max_connections = (int)rl.rlim_cur - 64;
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.vhost_name = "bare";
	info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.timeout_secs = 30;
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "bench_bare_lws: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct lws_vhost *vh = lws_get_vhost_by_name(context, "bare");
	printf("port %d\n", vh ? lws_get_vhost_listen_port(vh) : -1);
	fflush(stdout);
	while (!interrupted && lws_service(context, 0) >= 0)
		;
	lws_context_destroy(context);
	return 0;
}
