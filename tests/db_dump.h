/* Reading result databases back in tests: contents without ids, and checks. */
#ifndef EMOTRACE_TEST_DB_DUMP_H
#define EMOTRACE_TEST_DB_DUMP_H

#include <sqlite3.h>

/* Every media row (but id and run_id), track and observation of the media
 * named path (all media when path is NULL), one line per row in a fixed
 * order, as text; caller frees. NULL if the database cannot be read. */
char *db_dump(const char *db, const char *path);
/* The result of PRAGMA integrity_check ("ok" when sound); caller frees. */
char *db_integrity(const char *db);
/* The media paths in the database, sorted, one per line; caller frees. */
char *db_paths(const char *db);
/* A single integer from sql, or -1. */
long long db_count(const char *db, const char *sql);
/* A single number from sql on an open database: -1 (and the query and the
 * error on stderr) when the query fails, -2 when the value is NULL. */
double db_number(sqlite3 *db, const char *sql);

#endif
