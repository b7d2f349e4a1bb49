"""brygga adapter for Vendure (headless commerce, Admin GraphQL API)."""
