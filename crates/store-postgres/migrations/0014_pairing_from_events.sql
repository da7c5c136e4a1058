-- Nothing to change here. SQLite's 0014 drops fact_sightings' two partial indexes and pairs from
-- `events` instead. This backend keeps them: it decides a batch's pairings before any of the
-- batch's events is inserted, so it pairs from fact_sightings (see src/sightings.rs).
SELECT 1;
