-- kind: expand
-- Bulk import jobs. Kept in the database so any replica can report on any job.
-- Times are Unix milliseconds (portable across PostgreSQL and SQLite).
-- A `running` job whose `updated_at` stops moving was interrupted (its pod died);
-- the API reports it as `interrupted`.
CREATE TABLE imports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    total_rows BIGINT NOT NULL DEFAULT 0,
    processed_rows BIGINT NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    message TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX imports_created_at ON imports (created_at);
