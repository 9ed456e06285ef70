-- Postcode search (Enactor's customer postcode search): the postcode's letters and digits in capitals, with a covering
-- index in the search's order, compared byte by byte ("C") so that a prefix is a range. Contacts had no address before
-- this migration, so existing rows rightly have none.
ALTER TABLE contact_view ADD COLUMN postcode_key TEXT COLLATE "C";
CREATE INDEX contact_view_postcode ON contact_view (tenant, postcode_key, surname_key, contact_id);
