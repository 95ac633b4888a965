"""One router per resource: health and metrics, videos (queries, thumbnails, writes), search by upload, web page."""
