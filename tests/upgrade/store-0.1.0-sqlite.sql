-- A store as release 0.1.0 wrote it (SQLite, schema version 5): `pam-recover admin init`,
-- `admin import-oath` of two virtual users, one login of alice@example.org, then
-- `sqlite3 state.db .dump` (which leaves out the two PRAGMAs at the end). Alice's last
-- accepted step was set back to 56666666 (November 2023) so that a current code is later
-- on any clock. Sealed with the key in store-0.1.0.key.hex.
--   alice@example.org  SHA1, 6 digits, 30 s, hex 3132333435363738393031323334353637383930
--   bob@example.org    SHA1, 8 digits, 30 s, hex 3132333435363738393031323334353637383930
--                      313233343536373839303132
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE totp ( username TEXT NOT NULL PRIMARY KEY, sealed BLOB NOT NULL, algorithm INTEGER NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL, created INTEGER NOT NULL);
INSERT INTO totp VALUES('alice@example.org',X'0102967e918e8b89af91820c13d88c68e81fb4730c4e826f074ae674f1783cc1df5ff07b69187db65e783a5d83a142c10a05357315ae8e934698d18c56',0,6,30,1796429082);
INSERT INTO totp VALUES('bob@example.org',X'019a2a089789c2b6e3bd736843f7429559ee09ae305da905a0fc0379f011dccfdcfb4942cdeb06fbd70783b2882c74613d02848687a6db8ddac5f0c601bf94f974b91264a789de7173',0,8,30,1796429082);
CREATE TABLE totp_pending ( username TEXT NOT NULL PRIMARY KEY, sealed BLOB NOT NULL, algorithm INTEGER NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE login_state ( username TEXT NOT NULL PRIMARY KEY, last_step INTEGER NOT NULL DEFAULT -1, failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0);
INSERT INTO login_state VALUES('alice@example.org',56666666,0,0);
CREATE TABLE backup_codes ( username TEXT NOT NULL, hash BLOB NOT NULL, used_at INTEGER, PRIMARY KEY (username, hash));
CREATE TABLE app_passwords ( username TEXT NOT NULL, name TEXT NOT NULL, services TEXT NOT NULL DEFAULT '', hash BLOB NOT NULL, created INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (username, name), UNIQUE (username, hash));
CREATE TABLE contacts ( username TEXT NOT NULL, kind INTEGER NOT NULL, sealed BLOB NOT NULL, verified INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL, PRIMARY KEY (username, kind));
CREATE TABLE questions ( username TEXT NOT NULL PRIMARY KEY, question TEXT NOT NULL, answer_hash TEXT NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE tokens ( username TEXT NOT NULL, channel TEXT NOT NULL, purpose TEXT NOT NULL, hash BLOB NOT NULL, expires INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, used INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (username, channel, purpose));
CREATE TABLE counters ( key TEXT NOT NULL, time INTEGER NOT NULL);
CREATE TABLE audit ( id INTEGER PRIMARY KEY, time INTEGER NOT NULL, username TEXT, ruid INTEGER NOT NULL, event TEXT NOT NULL, method TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '');
INSERT INTO audit VALUES(1,1796429082,'root',0,'init','admin','key created, store created');
INSERT INTO audit VALUES(2,1796429082,'alice@example.org',0,'import-oath','admin','');
INSERT INTO audit VALUES(3,1796429082,'bob@example.org',0,'import-oath','admin','');
CREATE TABLE key_check ( id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), sealed BLOB NOT NULL, created INTEGER NOT NULL);
INSERT INTO key_check VALUES(1,X'01a2bf6c9631c7030327b6850367e68b316bddf6983dffc942d6800aee22de0f56e296f777fb19b30d120e2389b882f9619a150f8e6e9f77bb0261684cd3cb1e',1796429082);
CREATE TABLE outbox ( id INTEGER PRIMARY KEY, username TEXT NOT NULL, kind INTEGER NOT NULL, sealed BLOB, time INTEGER NOT NULL, proofs TEXT NOT NULL DEFAULT '', caller TEXT NOT NULL DEFAULT '', flags INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL, owner TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');
CREATE TABLE reuse ( username TEXT NOT NULL, hash BLOB NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (username, hash));
CREATE INDEX counters_key_time ON counters (key, time);
CREATE INDEX audit_username ON audit (username, id);
CREATE INDEX audit_time ON audit (time);
CREATE INDEX totp_username_lower ON totp (lower(username));
CREATE INDEX outbox_state ON outbox (state, next_try);
CREATE INDEX outbox_owner ON outbox (owner, state);
CREATE INDEX reuse_expires ON reuse (expires);
COMMIT;
PRAGMA application_id = 1885433202;
PRAGMA user_version = 5;
