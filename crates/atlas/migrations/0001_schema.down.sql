DROP TABLE country_timezones;
DROP TABLE country_currencies;
DROP TABLE countries;
DROP TABLE currencies;
