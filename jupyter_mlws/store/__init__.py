"""The workspace's storage: metadata (SQLAlchemy) and artifacts (content-addressed blobs)."""
