"""What pages, fragments, the JSON API and live scripts show, computed once."""
