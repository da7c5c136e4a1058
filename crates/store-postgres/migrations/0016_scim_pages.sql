-- Unfiltered SCIM listings page in SQL (`LIMIT ... OFFSET` in the listing's order: creation,
-- then id). These partial indexes hold exactly the rows SCIM lists, in that order, so a page
-- walks `offset` index entries and a count reads one index, instead of loading, rendering and
-- sorting the whole directory per page (0.5 s a page at 100k users before).
CREATE INDEX users_scim_order ON users (workspace_id, created_at_ms, id)
    WHERE user_name IS NOT NULL AND deleted_at_ms IS NULL;
CREATE INDEX user_groups_scim_order ON user_groups (workspace_id, created_at_ms, id)
    WHERE source = 'scim';
