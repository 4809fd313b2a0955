-- kind: expand
-- The next release's migration in the rollout scenarios (scripts/next-release-bin
-- builds it into the next binary): a nullable column, which the old release
-- neither reads nor writes, so it keeps serving while this lands.
ALTER TABLE countries ADD COLUMN motto TEXT NULL;
