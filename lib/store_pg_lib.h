/* libpq for the PostgreSQL backend (store_pg.c, store_pg_schema.c), loaded on first use. */
#ifndef RC_STORE_PG_LIB_H
#define RC_STORE_PG_LIB_H

#include <stddef.h>

#include <libpq-fe.h>

#include "store.h"
#include "util.h"

/*
 * libpq is loaded when a PostgreSQL store is first connected to (dlopen of its soname),
 * not when a program starts: libpq brings two dozen libraries (TLS, Kerberos, LDAP) whose
 * loading and relocation cost milliseconds at every exec, which the check back end (one
 * exec per question of a login without root) and a module on SQLite never need. The
 * functions this backend calls are reached through store_pg_lib (X(function, member)),
 * under their own names.
 */
#define STORE_PG_FUNCS(X)                                                                          \
	X(PQclear, PQclear_)                                                                       \
	X(PQcmdStatus, PQcmdStatus_)                                                               \
	X(PQcmdTuples, PQcmdTuples_)                                                               \
	X(PQconnectdbParams, PQconnectdbParams_)                                                   \
	X(PQconsumeInput, PQconsumeInput_)                                                         \
	X(PQconninfo, PQconninfo_)                                                                 \
	X(PQconninfoFree, PQconninfoFree_)                                                         \
	X(PQerrorMessage, PQerrorMessage_)                                                         \
	X(PQexecParams, PQexecParams_)                                                             \
	X(PQfinish, PQfinish_)                                                                     \
	X(PQflush, PQflush_)                                                                       \
	X(PQgetisnull, PQgetisnull_)                                                               \
	X(PQgetlength, PQgetlength_)                                                               \
	X(PQgetResult, PQgetResult_)                                                               \
	X(PQgetvalue, PQgetvalue_)                                                                 \
	X(PQisBusy, PQisBusy_)                                                                     \
	X(PQisnonblocking, PQisnonblocking_)                                                       \
	X(PQnfields, PQnfields_)                                                                   \
	X(PQntuples, PQntuples_)                                                                   \
	X(PQresultErrorField, PQresultErrorField_)                                                 \
	X(PQresultStatus, PQresultStatus_)                                                         \
	X(PQsendPrepare, PQsendPrepare_)                                                           \
	X(PQsendQuery, PQsendQuery_)                                                               \
	X(PQsendQueryPrepared, PQsendQueryPrepared_)                                               \
	X(PQsetNoticeProcessor, PQsetNoticeProcessor_)                                             \
	X(PQsetnonblocking, PQsetnonblocking_)                                                     \
	X(PQsocket, PQsocket_)                                                                     \
	X(PQstatus, PQstatus_)                                                                     \
	X(PQtransactionStatus, PQtransactionStatus_)

struct store_pg_lib {
/* m is a member's name, which cannot be parenthesised */
#define STORE_PG_MEMBER(f, m) __typeof__(f) *m; // NOLINT(bugprone-macro-parentheses)
	STORE_PG_FUNCS(STORE_PG_MEMBER)
#undef STORE_PG_MEMBER
};
extern struct store_pg_lib store_pg_lib;

/* What went wrong, for the user: the server's primary message (never a row's values) or the
 * connection's state. Static or connection-owned text. */
const char *store_pg_why(PGconn *c, const PGresult *res);

/* Load libpq once per process (thread-safe). 0, or -1 with a message naming the package. */
int store_pg_load(char *err, size_t errlen) RC_MUST_CHECK;

#define PQclear (*store_pg_lib.PQclear_)
#define PQcmdStatus (*store_pg_lib.PQcmdStatus_)
#define PQcmdTuples (*store_pg_lib.PQcmdTuples_)
#define PQconnectdbParams (*store_pg_lib.PQconnectdbParams_)
#define PQconsumeInput (*store_pg_lib.PQconsumeInput_)
#define PQconninfo (*store_pg_lib.PQconninfo_)
#define PQconninfoFree (*store_pg_lib.PQconninfoFree_)
#define PQerrorMessage (*store_pg_lib.PQerrorMessage_)
#define PQexecParams (*store_pg_lib.PQexecParams_)
#define PQfinish (*store_pg_lib.PQfinish_)
#define PQflush (*store_pg_lib.PQflush_)
#define PQgetisnull (*store_pg_lib.PQgetisnull_)
#define PQgetlength (*store_pg_lib.PQgetlength_)
#define PQgetResult (*store_pg_lib.PQgetResult_)
#define PQgetvalue (*store_pg_lib.PQgetvalue_)
#define PQisBusy (*store_pg_lib.PQisBusy_)
#define PQisnonblocking (*store_pg_lib.PQisnonblocking_)
#define PQnfields (*store_pg_lib.PQnfields_)
#define PQntuples (*store_pg_lib.PQntuples_)
#define PQresultErrorField (*store_pg_lib.PQresultErrorField_)
#define PQresultStatus (*store_pg_lib.PQresultStatus_)
#define PQsendPrepare (*store_pg_lib.PQsendPrepare_)
#define PQsendQuery (*store_pg_lib.PQsendQuery_)
#define PQsendQueryPrepared (*store_pg_lib.PQsendQueryPrepared_)
#define PQsetNoticeProcessor (*store_pg_lib.PQsetNoticeProcessor_)
#define PQsetnonblocking (*store_pg_lib.PQsetnonblocking_)
#define PQsocket (*store_pg_lib.PQsocket_)
#define PQstatus (*store_pg_lib.PQstatus_)
#define PQtransactionStatus (*store_pg_lib.PQtransactionStatus_)

#endif
