/*
 * demo: the demo county behind README's first command: a generated county
 * registry (townships, villages, industry projects) and the simulator's
 * ingest token, created at the first start with demo = 1 and kept after.
 */
#ifndef DEMO_H
#define DEMO_H

#include <sqlite3.h>
#include <stddef.h>

int demo_ensure(sqlite3 *db, char *err, size_t errlen);

#endif
