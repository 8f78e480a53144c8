/*
 * ticket: a singly linked list: the requests waiting at once are few (one
 * per busy connection), so a linear claim costs nothing measurable.
 */
#include "ticket.h"

#include <stddef.h>

uint64_t ticket_new_id(struct ticket_list *l) { return ++l->last_id; }

void ticket_wait(struct ticket_list *l, struct ticket *t, uint64_t id)
{
	t->id = id;
	t->next = l->head;
	l->head = t;
}

void ticket_cancel(struct ticket_list *l, struct ticket *t)
{
	if (!t->id)
		return;
	for (struct ticket **p = &l->head; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	t->id = 0;
	t->next = NULL;
}

struct ticket *ticket_claim(struct ticket_list *l, uint64_t id)
{
	struct ticket *t = l->head;
	while (t && t->id != id)
		t = t->next;
	if (t)
		ticket_cancel(l, t);
	return t;
}
