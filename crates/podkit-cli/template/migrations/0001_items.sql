@@if db@@
-- The example resource. Portable SQL: it runs on PostgreSQL and SQLite alike.
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
@@end@@
