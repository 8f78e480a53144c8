/*
 * ticket: matching work finished on another thread back to the HTTP request
 * still waiting for it. A request takes a ticket when its job is queued; the
 * service thread claims the request by the finished job's id, or cancels the
 * ticket when the connection closes first. Service thread only.
 */
#ifndef TICKET_H
#define TICKET_H

#include <stdint.h>

struct ticket {
	struct ticket *next;
	uint64_t id;                /* 0 = not waiting */
};

struct ticket_list {
	struct ticket *head;
	uint64_t last_id;
};

/* A fresh id for a job about to be queued. */
uint64_t ticket_new_id(struct ticket_list *l);
/* The request waits for the job with this id. */
void ticket_wait(struct ticket_list *l, struct ticket *t, uint64_t id);
/* The waiting ticket with this id, unlinked; NULL if its request went away. */
struct ticket *ticket_claim(struct ticket_list *l, uint64_t id);
/* The request is gone (or starts over): stop waiting. */
void ticket_cancel(struct ticket_list *l, struct ticket *t);

#endif
