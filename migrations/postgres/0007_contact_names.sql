-- Name search (Enactor's customer name search): the name lowercased, in order and surname first, each with a covering
-- index (the search reads its counts and its page's order from the indexes alone).
-- Compared byte by byte ("C"), so that a prefix is a range. Rows written before this migration have NULL keys; the
-- service rebuilds the views once at start to fill them.
ALTER TABLE contact_view ADD COLUMN name_key TEXT COLLATE "C";
ALTER TABLE contact_view ADD COLUMN surname_key TEXT COLLATE "C";
CREATE INDEX contact_view_name ON contact_view (tenant, name_key, surname_key, contact_id);
CREATE INDEX contact_view_surname ON contact_view (tenant, surname_key, name_key, contact_id);
