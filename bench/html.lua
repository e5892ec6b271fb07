-- wrk script for the item-page benchmark: GET /{id} as a browser asks for it,
-- so the server answers the HTML item page rather than the raw bytes.
wrk.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
