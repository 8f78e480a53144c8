/*
 * httppipe: the kernel's count of bytes received on a TCP socket minus the
 * bytes still in its receive queue is what lws has read. lws 4.1.6 reads from
 * the socket only when its own buffer of unparsed bytes is empty, so a request
 * completed without that count moving since the previous request's last byte
 * was parsed from that buffer. Two syscalls per check or mark.
 */
#include "httppipe.h"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* Bytes lws has taken from the socket; 0 when the kernel cannot say. */
static uint64_t consumed(struct lws *wsi)
{
	lws_sockfd_type fd = lws_get_socket_fd(wsi);
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int queued = 0;
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received ||
	    ioctl(fd, SIOCINQ, &queued) < 0 || queued < 0 || (uint64_t)queued > ti.tcpi_bytes_received)
		return 0;
	return ti.tcpi_bytes_received - (uint64_t)queued;
}

void httppipe_mark(struct lws *wsi)
{
	/* An integer kept in the pointer: nothing to free when the connection goes. */
	lws_set_opaque_user_data(wsi, (void *)(uintptr_t)consumed(wsi));
}

int httppipe_request(struct lws *wsi)
{
	uintptr_t mark = (uintptr_t)lws_get_opaque_user_data(wsi);
	uint64_t now = consumed(wsi);
	lws_set_opaque_user_data(wsi, (void *)(uintptr_t)now);
	return mark && (uint64_t)mark == now;
}
