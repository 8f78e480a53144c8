/*
 * demo: the demo county behind README's first command: a generated county
 * registry (townships, villages, industry projects, milestone plans) and the
 * simulator's ingest token, created at the first start with demo = 1 and
 * kept after. fpmsim finds what it needs in <data_dir>: demo-token (0600)
 * and demo-county (the seed, county code and anchor day of the generator).
 */
#ifndef DEMO_H
#define DEMO_H

#include <sqlite3.h>
#include <stddef.h>

/*
 * Load the demo county unless the registry already has entities (then only
 * the token is ensured); resume a load that was interrupted. 0, or -1 with
 * err set.
 */
int demo_ensure(sqlite3 *db, char *err, size_t errlen);

#endif
