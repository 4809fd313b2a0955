-- GET /api/v1/countries/{code}: the statement atlas runs (atlas::store::countries::BY_ALPHA2).
-- params: code
-- Run with: pgbench -n -M prepared -c 64 -j 1 -T 10 -D code=PT -f bench/pgbench/get_country.sql DB
-- A test (store::bench_sql) fails when this file and the Rust constant drift apart.
SELECT c.alpha2, c.alpha3, c.numeric_code, c.name, c.official_name, c.version,
       (SELECT string_agg(currency, ',' ORDER BY currency) FROM country_currencies
         WHERE country = c.alpha2) AS currencies,
       (SELECT string_agg(zone, ',' ORDER BY zone) FROM country_timezones
         WHERE country = c.alpha2) AS timezones,
       c.region, c.subregion, c.latitude, c.longitude, c.area_km2,
       CASE WHEN c.landlocked THEN 1 WHEN NOT c.landlocked THEN 0 END AS landlocked,
       CASE WHEN c.independent THEN 1 WHEN NOT c.independent THEN 0 END AS independent,
       CASE WHEN c.un_member THEN 1 WHEN NOT c.un_member THEN 0 END AS un_member,
       c.capitals, c.languages, c.calling_codes, c.tlds, c.borders, c.demonyms,
       c.native_names, c.alt_spellings, c.translations
  FROM countries c WHERE c.alpha2 = :code;
