-- Every country with its links (atlas::store::countries::ALL): what a list reads per
-- request with the cache off (api.cache=false), and what the snapshot loads.
-- Run with: pgbench -n -M prepared -c 64 -j 1 -T 10 -f bench/pgbench/all_countries.sql DB
SELECT c.alpha2, c.alpha3, c.numeric_code, c.name, c.official_name, c.version,
       (SELECT string_agg(currency, ',' ORDER BY currency) FROM country_currencies WHERE country = c.alpha2) AS currencies,
       (SELECT string_agg(zone, ',' ORDER BY zone) FROM country_timezones WHERE country = c.alpha2) AS timezones,
       c.region, c.subregion, c.latitude, c.longitude, c.area_km2,
       CASE WHEN c.landlocked THEN 1 WHEN NOT c.landlocked THEN 0 END AS landlocked,
       CASE WHEN c.independent THEN 1 WHEN NOT c.independent THEN 0 END AS independent,
       CASE WHEN c.un_member THEN 1 WHEN NOT c.un_member THEN 0 END AS un_member,
       c.capitals, c.languages, c.calling_codes, c.tlds, c.borders, c.demonyms,
       c.native_names, c.alt_spellings, c.translations
  FROM countries c ORDER BY c.alpha2;
