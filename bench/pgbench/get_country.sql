-- GET /api/v1/countries/{code} as store::countries::get runs it today: the row, then
-- its currency and zone links (crates/atlas/src/store/countries.rs). A placeholder
-- until the database work replaces it with the one statement atlas will run.
--
-- Run with: pgbench -n -M prepared -T 5 -c 64 -j 1 -f bench/pgbench/get_country.sql -D code=PT "$DATABASE_URL"
SELECT alpha2, alpha3, numeric_code, name, official_name, version FROM countries WHERE alpha2 = :code;
SELECT country, currency AS value FROM country_currencies WHERE country BETWEEN :code AND :code ORDER BY country, currency;
SELECT country, zone AS value FROM country_timezones WHERE country BETWEEN :code AND :code ORDER BY country, zone;
