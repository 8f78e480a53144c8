/*
 * demo: placeholder until the county generator lands (issue 4): refuses
 * demo = 1 with a clear message instead of starting an empty dashboard.
 */
#include "demo.h"

#include <stdio.h>

int demo_ensure(sqlite3 *db, char *err, size_t errlen)
{
	(void)db;
	snprintf(err, errlen, "the demo county generator is not built yet");
	return -1;
}
