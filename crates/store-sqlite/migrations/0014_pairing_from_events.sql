-- Pairing (steward_store::sightings) finds another source's turns of a thread in `events`, through
-- events_turn_facts (0012), which every event write maintains anyway, and asks whether a source has
-- reported a fact from fact_sightings' primary key, bounded in time. The two partial indexes of 0013
-- were random-order inserts on every prompt: about a fifth of SQLite's ingest throughput.
-- store-postgres keeps them (its pairing runs before the batch's events exist); its 0014 is empty.
DROP INDEX IF EXISTS fact_sightings_turns;
DROP INDEX IF EXISTS fact_sightings_turn_facts;
