-- GET /api/v1/countries?limit=50: the statement atlas runs (atlas::store::countries::LIST).
-- params: currency pattern after limit
-- Run with: pgbench -n -M prepared -c 64 -j 1 -T 10 -D currency=- -D pattern=- -D after=- -D limit=51 -f bench/pgbench/list_countries.sql DB
-- pgbench cannot bind SQL NULL, so a nullable parameter is written NULLIF(:name, '-')
-- and passed as `-` (never a valid value); the test reads NULLIF(:name, '-') and :name as
-- the parameter's $n. limit is the page size plus one (one more row says a next page
-- follows).
WITH matching AS (
  SELECT alpha2 FROM countries
   WHERE (NULLIF(:currency, '-') IS NULL OR alpha2 IN (SELECT country FROM country_currencies WHERE currency = NULLIF(:currency, '-')))
     AND (NULLIF(:pattern, '-') IS NULL OR lower(name) LIKE NULLIF(:pattern, '-') ESCAPE '\'
          OR lower(coalesce(official_name, '')) LIKE NULLIF(:pattern, '-') ESCAPE '\')
), page AS (
  SELECT alpha2 FROM matching WHERE (NULLIF(:after, '-') IS NULL OR alpha2 > NULLIF(:after, '-'))
   ORDER BY alpha2 LIMIT :limit
)
SELECT t.total, c.alpha2, c.alpha3, c.numeric_code, c.name, c.official_name, c.version, cu.currencies, tz.timezones,
       c.region, c.subregion, c.latitude, c.longitude, c.area_km2,
       CASE WHEN c.landlocked THEN 1 WHEN NOT c.landlocked THEN 0 END AS landlocked,
       CASE WHEN c.independent THEN 1 WHEN NOT c.independent THEN 0 END AS independent,
       CASE WHEN c.un_member THEN 1 WHEN NOT c.un_member THEN 0 END AS un_member,
       c.capitals, c.languages, c.calling_codes, c.tlds, c.borders, c.demonyms,
       c.native_names, c.alt_spellings, c.translations
  FROM (SELECT COUNT(*) AS total FROM matching) t
  LEFT JOIN page p ON true LEFT JOIN countries c ON c.alpha2 = p.alpha2
  LEFT JOIN (SELECT country, string_agg(currency, ',' ORDER BY currency) AS currencies FROM country_currencies
              WHERE country IN (SELECT alpha2 FROM page) GROUP BY country) cu ON cu.country = c.alpha2
  LEFT JOIN (SELECT country, string_agg(zone, ',' ORDER BY zone) AS timezones FROM country_timezones
              WHERE country IN (SELECT alpha2 FROM page) GROUP BY country) tz ON tz.country = c.alpha2
 ORDER BY c.alpha2;
