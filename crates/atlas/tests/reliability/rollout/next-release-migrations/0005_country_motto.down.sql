ALTER TABLE countries DROP COLUMN motto;
