-- Request listing (issue 7): every page is ORDER BY received_at DESC, number DESC with a
-- keyset condition on the same pair, so this index serves each page as a short ordered
-- scan that stops at the page size, however deep the page and however many ties a bulk
-- import left on received_at. (requests_received_at alone would sort every match.)
CREATE INDEX requests_listing ON requests (received_at DESC, number DESC);
