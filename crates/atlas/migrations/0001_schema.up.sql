-- kind: expand
-- Countries (ISO 3166-1), currencies (ISO 4217), and their links.
-- Portable SQL: runs unchanged on PostgreSQL and SQLite.
-- `version` counts writes to a row; PUT with If-Match compares it to refuse lost updates.

CREATE TABLE currencies (
    code TEXT PRIMARY KEY,
    numeric_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    minor_units INTEGER NULL,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE countries (
    alpha2 TEXT PRIMARY KEY,
    alpha3 TEXT NOT NULL UNIQUE,
    numeric_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    official_name TEXT NULL,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE INDEX countries_name_lower ON countries (lower(name));

CREATE TABLE country_currencies (
    country TEXT NOT NULL REFERENCES countries (alpha2) ON DELETE CASCADE ON UPDATE CASCADE,
    currency TEXT NOT NULL REFERENCES currencies (code) ON UPDATE CASCADE,
    PRIMARY KEY (country, currency)
);

CREATE INDEX country_currencies_currency ON country_currencies (currency);

CREATE TABLE country_timezones (
    country TEXT NOT NULL REFERENCES countries (alpha2) ON DELETE CASCADE ON UPDATE CASCADE,
    zone TEXT NOT NULL,
    PRIMARY KEY (country, zone)
);
