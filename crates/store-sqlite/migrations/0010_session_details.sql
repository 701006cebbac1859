-- Which device a session was opened on, for the resident's "your sessions"
-- list: a short description derived from the User-Agent at login ("Chrome on
-- Android"), never the raw header. NULL for sessions opened before this.

ALTER TABLE sessions ADD COLUMN device TEXT CHECK (device IS NULL OR length(device) <= 64);
