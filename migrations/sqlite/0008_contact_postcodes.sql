-- Postcode search (Enactor's customer postcode search): the postcode's letters and digits in capitals, with a covering
-- index in the search's order. Contacts had no address before this migration, so existing rows rightly have none.
ALTER TABLE contact_view ADD COLUMN postcode_key TEXT;
CREATE INDEX contact_view_postcode ON contact_view (tenant, postcode_key, surname_key, contact_id);
